import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ElectionService } from '../election/election.service';
import { MetricsService } from '../metrics/metrics.service';
import { EtcdStore } from '../store/etcd-store.service';

/** `/healthz` and `/metrics`. */
@Controller()
export class HealthController {
  constructor(
    private readonly store: EtcdStore,
    private readonly election: ElectionService,
    private readonly metrics: MetricsService,
  ) {}

  @Get('healthz')
  async health(@Res() response: Response): Promise<void> {
    const leaderId = this.store.mirror.leader?.record.replicaId ?? null;
    try {
      await this.store.ping();
      response.status(200).json({ status: 'ok', leader: this.election.isLeader, leaderId, etcd: 'ok' });
    } catch {
      response.status(503).json({ status: 'unavailable', leader: false, leaderId, etcd: 'unreachable' });
    }
  }

  @Get('metrics')
  async metricsText(@Res() response: Response): Promise<void> {
    response.status(200).setHeader('content-type', this.metrics.registry.contentType);
    response.end(await this.metrics.registry.metrics());
  }
}
