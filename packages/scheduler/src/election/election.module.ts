import { Module } from '@nestjs/common';
import { StoreModule } from '../store/store.module';
import { ElectionService } from './election.service';

/** Provides ElectionService: leader election on an etcd lease. */
@Module({ imports: [StoreModule], providers: [ElectionService], exports: [ElectionService] })
export class ElectionModule {}
