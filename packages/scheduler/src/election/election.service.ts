import { EventEmitter } from 'node:events';
import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Lease } from 'etcd3';
import { Logger } from 'pino';
import { SchedulerConfig } from '../config/config';
import { MetricsService } from '../metrics/metrics.service';
import { EtcdStore, Fence } from '../store/etcd-store.service';
import { LeaderRecord } from '../store/records';
import { ROOT_LOGGER, SCHEDULER_CONFIG } from '../tokens';

const CAMPAIGN_RETRY_MS = 500;

/** Election states; every change goes through `transition`, which logs `old -> new`. */
export type ElectionState = 'follower' | 'campaigning' | 'leader' | 'stopped';

/**
 * Leader election on an etcd lease. The replica that creates `<prefix>/leader` on its lease leads
 * until that lease is lost. The key's create revision is the fence every leader write is checked
 * against, so a deposed leader's writes fail. Emits `elected` (Fence) and `deposed`.
 */
@Injectable()
export class ElectionService extends EventEmitter implements OnApplicationBootstrap, OnModuleDestroy {
  private state: ElectionState = 'follower';
  private lease: Lease | undefined;
  private currentFence: Fence | undefined;
  private lastKeepAliveMs = 0;
  private watchdog: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private campaignInFlight = false;
  private campaignRequested = false;
  private leaderCheck: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  private unsubscribe: (() => void) | undefined;

  constructor(
    @Inject(SCHEDULER_CONFIG) private readonly config: SchedulerConfig,
    @Inject(ROOT_LOGGER) logger: Logger,
    private readonly store: EtcdStore,
    private readonly metrics: MetricsService,
  ) {
    super();
    this.log = logger.child({ component: 'election' });
  }

  /** The fence while this replica leads; undefined otherwise. */
  get fence(): Fence | undefined {
    return this.state === 'leader' ? this.currentFence : undefined;
  }

  get isLeader(): boolean {
    return this.state === 'leader';
  }

  onApplicationBootstrap(): void {
    this.unsubscribe = this.store.onChange((events, resync) => {
      const leaderTouched = resync || events.some((e) => e.key === this.store.keys.leader);
      if (leaderTouched) this.onLeaderKeyChanged();
    });
    void this.campaign();
    // A safety net for a missed watch event: campaign whenever the mirror shows no leader.
    this.leaderCheck = setInterval(() => {
      if (this.state === 'follower' && this.store.mirror.leader === undefined) void this.campaign();
    }, this.config.leaderTtlS * 1000);
  }

  async onModuleDestroy(): Promise<void> {
    this.unsubscribe?.();
    clearInterval(this.leaderCheck);
    const lease = this.lease;
    this.transition('stopped', 'shutting down');
    clearTimeout(this.retryTimer);
    // Revoking deletes the leader key at once, so another replica need not wait for the TTL.
    if (lease !== undefined) await lease.revoke().catch(() => undefined);
  }

  private transition(next: ElectionState, why: string): void {
    if (this.state === next || this.state === 'stopped') return;
    const previous = this.state;
    this.state = next;
    this.log.info({ from: previous, to: next, why }, `election ${previous} -> ${next}`);
    this.metrics.isLeader.set(next === 'leader' ? 1 : 0);
    if (previous === 'leader') {
      clearInterval(this.watchdog);
      this.currentFence = undefined;
      this.emit('deposed');
    }
  }

  private async campaign(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'leader') return;
    if (this.campaignInFlight) {
      // The leader key may have gone after the running attempt found it taken; try once more.
      this.campaignRequested = true;
      return;
    }
    this.campaignInFlight = true;
    this.transition('campaigning', 'no leader known');
    try {
      const lease = await this.ensureLease();
      const record: LeaderRecord = { replicaId: this.config.replicaId, httpUrl: httpUrlOf(this.config), since: new Date().toISOString() };
      const createRevision = await this.store.createOnLease(this.store.keys.leader, record, lease);
      if (createRevision === undefined) {
        this.transition('follower', `leader is ${this.store.mirror.leader?.record.replicaId ?? 'another replica'}`);
        return;
      }
      this.becomeLeader({ key: this.store.keys.leader, createRevision });
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, `campaign failed; retrying in ${CAMPAIGN_RETRY_MS} ms`);
      this.transition('follower', 'campaign failed');
      this.retryLater();
    } finally {
      this.campaignInFlight = false;
      if (this.campaignRequested) {
        this.campaignRequested = false;
        void this.campaign();
      }
    }
  }

  private retryLater(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.campaign(), CAMPAIGN_RETRY_MS);
  }

  private async ensureLease(): Promise<Lease> {
    if (this.lease !== undefined && !this.lease.revoked()) return this.lease;
    const lease = this.store.lease(this.config.leaderTtlS, true);
    lease.on('lost', (error) => this.onLeaseLost(lease, error.message));
    lease.on('keepaliveSucceeded', () => (this.lastKeepAliveMs = Date.now()));
    await lease.grant();
    this.lastKeepAliveMs = Date.now();
    this.lease = lease;
    return lease;
  }

  private becomeLeader(fence: Fence): void {
    this.currentFence = fence;
    this.transition('leader', `won ${fence.key} at revision ${fence.createRevision}`);
    // etcd3 reports a lost lease only after etcd replies. Without a reply for a whole TTL the lease
    // may have expired already, so stop placing rather than risk two leaders writing.
    const ttlMs = this.config.leaderTtlS * 1000;
    this.watchdog = setInterval(() => {
      if (Date.now() - this.lastKeepAliveMs > ttlMs) this.onLeaseLost(this.lease, 'no keep-alive answer within the lease TTL');
    }, Math.min(1000, ttlMs / 4));
    this.emit('elected', fence);
  }

  private onLeaseLost(lease: Lease | undefined, why: string): void {
    if (lease !== this.lease) return;
    this.lease = undefined;
    this.log.warn({ why }, 'leader lease lost');
    if (this.state === 'leader') this.transition('follower', `lease lost: ${why}`);
    this.retryLater();
  }

  private onLeaderKeyChanged(): void {
    const leader = this.store.mirror.leader;
    if (this.state === 'leader' && (leader === undefined || leader.createRevision !== this.currentFence?.createRevision)) {
      this.transition('follower', 'leader key changed');
    }
    if (leader === undefined && this.state !== 'stopped') void this.campaign();
  }
}

/** Returns the base URL of this replica's HTTP API, as other replicas and clients reach it. */
export function httpUrlOf(config: SchedulerConfig): string {
  const scheme = config.tls ? 'https' : 'http';
  const host = config.httpListen.host === '0.0.0.0' ? '127.0.0.1' : config.httpListen.host;
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${config.httpListen.port}`;
}
