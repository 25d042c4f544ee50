import { Module } from '@nestjs/common';
import { ElectionModule } from '../election/election.module';
import { StoreModule } from '../store/store.module';
import { ReconcilerService } from './reconciler.service';

/** Provides the leader's reconcile loop. */
@Module({ imports: [StoreModule, ElectionModule], providers: [ReconcilerService], exports: [ReconcilerService] })
export class ReconcileModule {}
