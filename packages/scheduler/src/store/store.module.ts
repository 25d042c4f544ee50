import { Module } from '@nestjs/common';
import { EtcdStore } from './etcd-store.service';

/** Provides EtcdStore, the only provider that talks to etcd. */
@Module({ providers: [EtcdStore], exports: [EtcdStore] })
export class StoreModule {}
