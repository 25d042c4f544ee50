import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one replica, on a registry of its own so several replicas can share a process in tests. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly placements = new Counter({
    name: 'berth_scheduler_placements_total',
    help: 'Assignments written by this replica while leader, by kind (assign or unassign)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly unplaced = new Gauge({
    name: 'berth_scheduler_unplaced_units',
    help: 'Units that should run but have a reason instead of a machine, as of the last reconcile',
    registers: [this.registry],
  });

  readonly reconcileDuration = new Histogram({
    name: 'berth_scheduler_reconcile_duration_seconds',
    help: 'Time to plan and commit one reconcile pass',
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly agentsConnected = new Gauge({
    name: 'berth_scheduler_agents_connected',
    help: 'Agent streams open on this replica',
    registers: [this.registry],
  });

  readonly etcdErrors = new Counter({
    name: 'berth_scheduler_etcd_errors_total',
    help: 'Failed etcd operations, by operation',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  readonly isLeader = new Gauge({
    name: 'berth_scheduler_leader',
    help: '1 while this replica is the elected leader',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
