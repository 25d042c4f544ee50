import { EventEmitter } from 'node:events';
import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Etcd3, EtcdLeaseInvalidError, IOperation, Lease, Watcher } from 'etcd3';
import { Logger } from 'pino';
import { SchedulerConfig } from '../config/config';
import { NotLeaderError, toSchedulerError } from '../errors';
import { MetricsService } from '../metrics/metrics.service';
import { ROOT_LOGGER, SCHEDULER_CONFIG } from '../tokens';
import { KeyLayout } from './keys';
import { StoreEvent, StoreMirror } from './mirror';
import { ConnectionRecord, UnitStateRecord } from './records';

// etcd rejects transactions with more than 128 operations (--max-txn-ops) or requests over
// 1.5 MiB (--max-request-bytes) by default; stay under both.
const MAX_TXN_OPS = 100;
const MAX_TXN_BYTES = 1024 * 1024;
const RANGE_PAGE_SIZE = 1000;
const REVISION_WAIT_TIMEOUT_MS = 10_000;

/** A key with its decoded JSON value and revisions. */
export interface StoredItem<T = unknown> {
  key: string;
  value: T;
  modRevision: number;
  createRevision: number;
}

/** One write of a fenced batch. */
export type WriteOp = { type: 'put'; key: string; value: unknown; lease?: string } | { type: 'delete'; key: string };

/** The leader's election key and the create revision it had when this replica won. */
export interface Fence {
  key: string;
  createRevision: number;
}

/**
 * The only module that talks to etcd. Offers typed reads and writes of the documented key layout,
 * fenced batched transactions for the leader, leases, and a watched mirror of the state.
 * Every method throws a SchedulerError: EtcdUnavailableError when etcd cannot be reached.
 */
@Injectable()
export class EtcdStore implements OnModuleInit, OnModuleDestroy {
  readonly keys: KeyLayout;
  readonly mirror: StoreMirror;
  private readonly client: Etcd3;
  private readonly events = new EventEmitter();
  private watcher: Watcher | undefined;
  private readonly log: Logger;
  private closed = false;

  constructor(
    @Inject(SCHEDULER_CONFIG) config: SchedulerConfig,
    @Inject(ROOT_LOGGER) logger: Logger,
    private readonly metrics: MetricsService,
  ) {
    this.keys = new KeyLayout(config.prefix);
    this.mirror = new StoreMirror(this.keys);
    this.client = new Etcd3({ hosts: config.etcdEndpoints, dialTimeout: 5000 });
    this.log = logger.child({ component: 'store' });
    this.events.setMaxListeners(0);
  }

  /** Loads the mirror before other modules start; waits for etcd, logging each failed attempt. */
  async onModuleInit(): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        await this.startMirror();
        return;
      } catch (error) {
        this.log.warn({ err: (error as Error).message, attempt }, 'cannot load state from etcd; retrying in 1 s');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    await this.watcher?.cancel().catch(() => undefined);
    this.client.close();
  }

  /** Runs one etcd operation, counting and converting its failure. */
  private async guard<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof NotLeaderError)) this.metrics.etcdErrors.inc({ operation });
      throw toSchedulerError(error, operation);
    }
  }

  /** Reads every key under `prefix` at one revision, page by page. */
  async readPrefix<T = unknown>(prefix: string, atRevision?: number): Promise<{ items: StoredItem<T>[]; revision: number }> {
    return this.guard(`read ${prefix}`, async () => {
      const items: StoredItem<T>[] = [];
      const end = prefixEnd(prefix);
      let start = prefix;
      let revision = atRevision ?? 0;
      for (;;) {
        let builder = this.client.getAll().inRange({ start, end }).limit(RANGE_PAGE_SIZE);
        if (revision > 0) builder = builder.revision(revision);
        const response = await builder.exec();
        if (revision === 0) revision = Number(response.header.revision);
        for (const kv of response.kvs) items.push(decodeItem<T>(kv));
        if (!response.more || response.kvs.length === 0) break;
        start = response.kvs[response.kvs.length - 1].key.toString('utf8') + '\u0000';
      }
      return { items, revision };
    });
  }

  /** Reads one key; undefined when absent. */
  async get<T = unknown>(key: string): Promise<StoredItem<T> | undefined> {
    return this.guard(`get ${key}`, async () => {
      const response = await this.client.get(key).exec();
      return response.kvs.length === 0 ? undefined : decodeItem<T>(response.kvs[0]);
    });
  }

  /**
   * Writes `key` only if it still has `expectedModRevision` (0 means: only if absent). Returns
   * false when another writer got there first.
   */
  async putIf(key: string, value: unknown, expectedModRevision: number, lease?: string): Promise<boolean> {
    return this.guard(`put ${key}`, async () => {
      const put = this.client.put(key).value(JSON.stringify(value));
      if (lease !== undefined) put.lease(lease);
      const result = await this.client.if(key, 'Mod', '==', expectedModRevision).then(put).commit();
      return result.succeeded;
    });
  }

  /** Writes `key` unconditionally, optionally on a lease. */
  async put(key: string, value: unknown, lease?: string): Promise<number> {
    return this.guard(`put ${key}`, async () => {
      const put = this.client.put(key).value(JSON.stringify(value));
      if (lease !== undefined) put.lease(lease);
      const response = await put.exec();
      return Number(response.header.revision);
    });
  }

  /** Deletes one key, or every key under it when `prefix` is true; returns how many went. */
  async delete(key: string, prefix = false): Promise<number> {
    return this.guard(`delete ${key}`, async () => {
      const builder = prefix ? this.client.delete().prefix(key) : this.client.delete().key(key);
      const response = await builder.exec();
      return Number(response.deleted);
    });
  }

  /** Deletes `key` only while its value equals `value` (serialized), so a replica removes only its own claim. */
  async deleteIfValue(key: string, value: unknown): Promise<boolean> {
    return this.guard(`delete ${key}`, async () => {
      const result = await this.client.if(key, 'Value', '==', JSON.stringify(value)).then(this.client.delete().key(key)).commit();
      return result.succeeded;
    });
  }

  /** Creates a lease; with `autoKeepAlive` false the caller refreshes it with keepaliveOnce(). */
  lease(ttlS: number, autoKeepAlive: boolean): Lease {
    return this.client.lease(Math.max(1, Math.ceil(ttlS)), { autoKeepAlive });
  }

  /** Revokes a lease by id, deleting every key attached to it; an unknown lease is not an error. */
  async revokeLease(leaseId: string): Promise<void> {
    await this.guard('revoke lease', async () => {
      await this.client.leaseClient.leaseRevoke({ ID: leaseId }).catch((error: Error) => {
        if (!/not found/i.test(error.message)) throw error;
      });
    });
  }

  /** Sends one keep-alive for a lease; returns the remaining TTL in seconds, 0 when the lease expired. */
  async keepAliveOnce(lease: Lease): Promise<number> {
    return this.guard('keep lease alive', async () => {
      try {
        return Number((await lease.keepaliveOnce()).TTL);
      } catch (error) {
        if (error instanceof EtcdLeaseInvalidError) return 0;
        throw error;
      }
    });
  }

  /** Creates `key` on `lease` only if it is absent; returns its create revision, or undefined when taken. */
  async createOnLease(key: string, value: unknown, lease: Lease): Promise<number | undefined> {
    return this.guard(`create ${key}`, async () => {
      const leaseId = await lease.grant();
      const put = this.client.put(key).value(JSON.stringify(value)).lease(leaseId);
      const result = await this.client.if(key, 'Create', '==', 0).then(put).commit();
      return result.succeeded ? Number(result.header.revision) : undefined;
    });
  }

  /** Claims a machine's connection key for this replica; returns the holder's record when it is taken. */
  async claimConnection(record: ConnectionRecord, lease: Lease): Promise<ConnectionRecord | undefined> {
    const key = this.keys.connection(record.machineId);
    const created = await this.createOnLease(key, record, lease);
    if (created !== undefined) return undefined;
    const holder = await this.get<ConnectionRecord>(key);
    // The holder may have let go between the two calls; report a vague holder rather than retry forever.
    return holder?.value ?? { ...record, replicaId: 'unknown', peer: 'unknown' };
  }

  /** Stores an agent's unit state report on the machine's presence lease. */
  async putState(record: UnitStateRecord, leaseId: string): Promise<void> {
    await this.put(this.keys.state(record.name, record.machineId), record, leaseId);
  }

  /**
   * Commits writes in transactions guarded by the leader's election key: each transaction applies
   * only while that key still has the create revision this replica won with. Deletes go first so
   * a moved unit is never on two machines at once. Returns the revision of the last transaction.
   * Throws NotLeaderError when the guard fails (another replica leads now).
   */
  async commitFenced(fence: Fence, ops: WriteOp[]): Promise<number> {
    const ordered = [...ops.filter((o) => o.type === 'delete'), ...ops.filter((o) => o.type === 'put')];
    let revision = 0;
    for (const batch of splitBatches(ordered)) {
      revision = await this.guard('commit plan', async () => {
        const result = await this.client
          .if(fence.key, 'Create', '==', fence.createRevision)
          .then(...batch.map((op) => this.toOperation(op)))
          .commit();
        if (!result.succeeded) {
          throw new NotLeaderError(`write rejected: ${fence.key} no longer has create revision ${fence.createRevision}, so another replica leads`);
        }
        return Number(result.header.revision);
      });
    }
    return revision;
  }

  private toOperation(op: WriteOp): IOperation {
    if (op.type === 'delete') return this.client.delete().key(op.key);
    const put = this.client.put(op.key).value(JSON.stringify(op.value));
    if (op.lease !== undefined) put.lease(op.lease);
    return put;
  }

  /** Subscribes to mirror changes; `resync` is true after the mirror was reloaded from scratch. */
  onChange(listener: (events: StoreEvent[], resync: boolean) => void): () => void {
    this.events.on('change', listener);
    return () => this.events.off('change', listener);
  }

  /** Loads the mirror and keeps it current with a watch from the loaded revision. */
  async startMirror(): Promise<void> {
    const { items, revision } = await this.readPrefix(this.keys.root);
    this.mirror.clear();
    for (const item of items) {
      this.mirror.apply({ type: 'put', key: item.key, value: item.value, modRevision: item.modRevision, createRevision: item.createRevision });
    }
    this.mirror.revision = revision;
    this.watcher = await this.guard('watch', () =>
      this.client.watch().prefix(this.keys.root).startRevision(String(revision + 1)).create(),
    );
    this.watcher.on('data', (response) => this.onWatchData(response.events));
    this.watcher.on('error', (error) => void this.resync(error));
    this.events.emit('change', [], true);
  }

  private onWatchData(raw: Array<{ type: string; kv: RawKeyValue }>): void {
    const events: StoreEvent[] = [];
    for (const e of raw) {
      const item = decodeItem(e.kv);
      const event: StoreEvent = { type: e.type === 'Put' ? 'put' : 'delete', ...item };
      if (event.type === 'delete') event.value = undefined;
      this.mirror.apply(event);
      this.mirror.revision = Math.max(this.mirror.revision, event.modRevision);
      events.push(event);
    }
    if (events.length > 0) this.events.emit('change', events, false);
  }

  private async resync(error: Error): Promise<void> {
    if (this.closed) return;
    this.log.warn({ err: error.message }, 'etcd watch failed; reloading the mirror');
    this.metrics.etcdErrors.inc({ operation: 'watch' });
    await this.watcher?.cancel().catch(() => undefined);
    for (;;) {
      try {
        await this.startMirror();
        return;
      } catch (reloadError) {
        if (this.closed) return;
        this.log.error({ err: (reloadError as Error).message }, 'reloading the mirror failed; retrying in 1 s');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** Resolves once the mirror reflects `revision`, or after a timeout (the caller replans anyway). */
  async waitForRevision(revision: number): Promise<void> {
    const deadline = Date.now() + REVISION_WAIT_TIMEOUT_MS;
    while (this.mirror.revision < revision && Date.now() < deadline && !this.closed) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Checks that etcd replies to a read; throws EtcdUnavailableError when it does not. */
  async ping(): Promise<void> {
    await this.guard('health check', () => this.client.get(this.keys.leader).exec());
  }
}

type RawKeyValue = { key: Buffer; value: Buffer; mod_revision: string; create_revision: string };

function decodeItem<T>(kv: RawKeyValue): StoredItem<T> {
  let value: unknown;
  try {
    value = kv.value.length > 0 ? JSON.parse(kv.value.toString('utf8')) : undefined;
  } catch {
    // A foreign or corrupt value is kept out of the mirror instead of crashing the watch.
    value = undefined;
  }
  return {
    key: kv.key.toString('utf8'),
    value: value as T,
    modRevision: Number(kv.mod_revision),
    createRevision: Number(kv.create_revision),
  };
}

/** Returns the first key after every key that starts with `prefix`. */
function prefixEnd(prefix: string): string {
  const buffer = Buffer.from(prefix, 'utf8');
  buffer[buffer.length - 1] += 1;
  return buffer.toString('utf8');
}

function splitBatches(ops: WriteOp[]): WriteOp[][] {
  const batches: WriteOp[][] = [];
  let current: WriteOp[] = [];
  let bytes = 0;
  for (const op of ops) {
    const size = op.key.length + (op.type === 'put' ? JSON.stringify(op.value).length : 0);
    if (current.length >= MAX_TXN_OPS || (current.length > 0 && bytes + size > MAX_TXN_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(op);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
