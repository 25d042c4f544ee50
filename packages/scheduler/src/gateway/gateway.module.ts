import { Module } from '@nestjs/common';
import { StoreModule } from '../store/store.module';
import { GatewayService } from './gateway.service';

/** Provides the agent gateway (gRPC server). */
@Module({ imports: [StoreModule], providers: [GatewayService], exports: [GatewayService] })
export class GatewayModule {}
