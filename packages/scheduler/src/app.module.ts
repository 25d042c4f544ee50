import { DynamicModule, Global, Module } from '@nestjs/common';
import { Logger } from 'pino';
import { ApiModule } from './api/api.module';
import { SchedulerConfig } from './config/config';
import { ElectionModule } from './election/election.module';
import { GatewayModule } from './gateway/gateway.module';
import { MetricsService } from './metrics/metrics.service';
import { ReconcileModule } from './reconcile/reconcile.module';
import { StoreModule } from './store/store.module';
import { ROOT_LOGGER, SCHEDULER_CONFIG } from './tokens';

/** Config, logger and metrics, shared by every module of one replica. */
@Global()
@Module({})
class CoreModule {
  static forRoot(config: SchedulerConfig, logger: Logger): DynamicModule {
    return {
      module: CoreModule,
      providers: [{ provide: SCHEDULER_CONFIG, useValue: config }, { provide: ROOT_LOGGER, useValue: logger }, MetricsService],
      exports: [SCHEDULER_CONFIG, ROOT_LOGGER, MetricsService],
    };
  }
}

/** One scheduler replica: store, election, reconciler, agent gateway and HTTP API. */
@Module({})
export class AppModule {
  static forRoot(config: SchedulerConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [CoreModule.forRoot(config, logger), StoreModule, ElectionModule, ReconcileModule, GatewayModule, ApiModule],
    };
  }
}
