import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ElectionModule } from '../election/election.module';
import { GatewayModule } from '../gateway/gateway.module';
import { StoreModule } from '../store/store.module';
import { ApiErrorFilter } from './api-error.filter';
import { ApiTokenGuard } from './api-token.guard';
import { HealthController } from './health.controller';
import { JournalService } from './journal.service';
import { MachinesController } from './machines.controller';
import { MachinesService } from './machines.service';
import { UnitsController } from './units.controller';
import { UnitsService } from './units.service';

/** The HTTP API of docs/api.md. */
@Module({
  imports: [StoreModule, ElectionModule, GatewayModule],
  controllers: [UnitsController, MachinesController, HealthController],
  providers: [UnitsService, MachinesService, JournalService, ApiTokenGuard, { provide: APP_FILTER, useClass: ApiErrorFilter }],
})
export class ApiModule {}
