import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Logger } from 'pino';
import { ElectionService } from '../election/election.service';
import { NotLeaderError } from '../errors';
import { MetricsService } from '../metrics/metrics.service';
import { planPlacement } from '../placement/place';
import { EtcdStore } from '../store/etcd-store.service';
import { StoreEvent } from '../store/mirror';
import { MachineRecord } from '../store/records';
import { SchedulerConfig } from '../config/config';
import { ROOT_LOGGER, SCHEDULER_CONFIG } from '../tokens';
import { planWrites } from './plan-writes';
import { buildSnapshot, UnitCache } from './snapshot';

// Changes arrive in bursts (a batch of units, a transaction's events); one pass covers a burst.
const DEBOUNCE_MS = 20;
// Unplaced units are retried on every change; this periodic pass is a safety net only.
const PERIODIC_RECONCILE_MS = 30_000;
const FAILURE_BACKOFF_MS = 1000;
// Planning is synchronous and covers every unit, so with many units a pass blocks the event loop
// for a while. Waiting this many times as long before the next pass keeps the API and the gateway,
// which share the loop, responsive while changes stream in.
const PLANNING_SPACING_FACTOR = 2;
/** Plans with at most this many changes log each change at info level. */
const MAX_CHANGES_LOGGED_AT_INFO = 50;

/**
 * The leader's loop: whenever units, machines or assignments change, build a snapshot from the
 * mirror, plan placement and commit the plan fenced by the election key. Followers do nothing.
 */
@Injectable()
export class ReconcilerService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly cache = new UnitCache();
  private readonly machineSignatures = new Map<string, string>();
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private periodic: NodeJS.Timeout | undefined;
  private running = false;
  private dirty = false;
  private stopped = false;
  private unsubscribe: (() => void) | undefined;
  private graceUntilMs = 0;
  private lastPlanningMs = 0;
  private graceTimer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(SCHEDULER_CONFIG) private readonly config: SchedulerConfig,
    @Inject(ROOT_LOGGER) logger: Logger,
    private readonly store: EtcdStore,
    private readonly election: ElectionService,
    private readonly metrics: MetricsService,
  ) {
    this.log = logger.child({ component: 'reconciler' });
  }

  onApplicationBootstrap(): void {
    this.unsubscribe = this.store.onChange((events, resync) => {
      if (resync || events.some((e) => this.affectsPlacement(e))) this.schedule(this.spacingMs());
    });
    this.election.on('elected', () => this.onElected());
    this.periodic = setInterval(() => this.schedule(0), PERIODIC_RECONCILE_MS);
  }

  /**
   * Starts a grace period of one presence TTL. After an outage of every replica, machine leases
   * may have expired while the agents were still running their units, and unassigning them all
   * before the agents reconnect would restart every unit in the cluster.
   */
  private onElected(): void {
    const graceMs = this.config.presenceTtlS * 1000;
    this.graceUntilMs = Date.now() + graceMs;
    clearTimeout(this.graceTimer);
    this.graceTimer = setTimeout(() => this.schedule(0), graceMs);
    this.schedule(0);
  }

  onModuleDestroy(): void {
    this.stopped = true;
    clearTimeout(this.graceTimer);
    this.unsubscribe?.();
    clearTimeout(this.timer);
    clearInterval(this.periodic);
  }

  /** Returns whether an event can change the plan. Machine updates from heartbeats alone cannot. */
  private affectsPlacement(event: StoreEvent): boolean {
    const parsed = this.store.keys.parse(event.key);
    if (parsed === undefined) return false;
    if (parsed.kind === 'machines') {
      const id = parsed.parts.join('/');
      const machine = event.value as MachineRecord | undefined;
      const signature = machine === undefined ? '' : JSON.stringify([machine.metadata, machine.capacity]);
      if (this.machineSignatures.get(id) === signature) return false;
      if (signature === '') this.machineSignatures.delete(id);
      else this.machineSignatures.set(id, signature);
      return true;
    }
    return ['units', 'machine-metadata', 'assignments', 'reasons'].includes(parsed.kind);
  }

  /** Runs a pass after `delayMs`, coalescing requests that arrive in the meantime. */
  schedule(delayMs: number): void {
    if (this.stopped || !this.election.isLeader) return;
    if (this.running) {
      this.dirty = true;
      return;
    }
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, delayMs);
  }

  private spacingMs(): number {
    return Math.max(DEBOUNCE_MS, this.lastPlanningMs * PLANNING_SPACING_FACTOR);
  }

  private async run(): Promise<void> {
    this.running = true;
    this.dirty = false;
    let delay = this.spacingMs();
    try {
      await this.reconcileOnce();
    } catch (error) {
      delay = FAILURE_BACKOFF_MS;
      if (error instanceof NotLeaderError) this.log.warn({ err: error.message }, 'plan not committed: no longer leader');
      else {
        this.log.error({ err: (error as Error).message }, `reconcile failed; retrying in ${FAILURE_BACKOFF_MS} ms`);
        this.dirty = true;
      }
    } finally {
      this.running = false;
    }
    if (this.dirty) this.schedule(delay);
  }

  /** Runs one pass (snapshot, plan, commit) and returns the number of writes. Throws NotLeaderError when deposed. */
  async reconcileOnce(): Promise<number> {
    const fence = this.election.fence;
    if (fence === undefined) return 0;
    const stopTimer = this.metrics.reconcileDuration.startTimer();

    const planningStart = performance.now();
    const inGrace = Date.now() < this.graceUntilMs;
    const plan = planPlacement(buildSnapshot(this.store.mirror, this.cache, inGrace));
    const ops = planWrites(plan, this.store.mirror, this.store.keys, new Date().toISOString());
    this.lastPlanningMs = performance.now() - planningStart;
    if (ops.length > 0) {
      // The fence check in every transaction is what protects against a stale leader; this early
      // return only avoids useless work once the deposition is known.
      if (this.election.fence === undefined) return 0;
      const revision = await this.store.commitFenced(fence, ops);
      await this.store.waitForRevision(revision);
    }

    // Operators need to see which unit moved where and why. A bulk placement of thousands of
    // units would flood the log, so only its summary stays at info level.
    const changeLevel = plan.changes.length <= MAX_CHANGES_LOGGED_AT_INFO ? 'info' : 'debug';
    for (const change of plan.changes) {
      this.metrics.placements.inc({ kind: change.kind });
      this.log[changeLevel]({ unit: change.unit, machine: change.machineId }, `${change.kind}: ${change.cause}`);
    }
    if (ops.length > 0) {
      const assigned = plan.changes.filter((c) => c.kind === 'assign').length;
      const summary = { assigned, unassigned: plan.changes.length - assigned, unplaced: plan.reasons.size, writes: ops.length, rev: this.store.mirror.revision };
      this.log.info(summary, 'plan committed');
    }
    this.metrics.unplaced.set(plan.reasons.size);
    stopTimer();
    return ops.length;
  }
}
