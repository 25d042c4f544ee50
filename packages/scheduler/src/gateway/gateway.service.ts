import * as grpc from '@grpc/grpc-js';
import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Lease } from 'etcd3';
import { Logger } from 'pino';
import { SchedulerConfig } from '../config/config';
import { httpUrlOf } from '../election/election.service';
import { MetricsService } from '../metrics/metrics.service';
import { EtcdStore } from '../store/etcd-store.service';
import { MirroredAssignment, StoreEvent } from '../store/mirror';
import { ROOT_LOGGER, SCHEDULER_CONFIG } from '../tokens';
import { AgentCall, AgentSession, LogSink, SessionHost } from './agent-session';
import { loadBerthProto } from './proto';
import { bearerToken, tokenMatches } from './token';

// Connection claims live on this lease: if this replica dies its agents can reconnect elsewhere
// after at most this long.
const SESSION_LEASE_TTL_S = 5;

/**
 * The agent gateway: a gRPC server for AgentGateway.Connect. Any replica serves agents; each
 * session's assignments come from the mirror's etcd watch, not from the leader.
 */
@Injectable()
export class GatewayService implements SessionHost, OnApplicationBootstrap, OnModuleDestroy {
  private server: grpc.Server | undefined;
  private readonly sessions = new Map<string, AgentSession>();
  private readonly pending = new Set<AgentSession>();
  private lease: Lease | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly log: Logger;
  readonly httpUrl: string;
  /** The port the gRPC server is bound to (useful when configured with port 0). */
  port = 0;

  constructor(
    @Inject(SCHEDULER_CONFIG) readonly config: SchedulerConfig,
    @Inject(ROOT_LOGGER) logger: Logger,
    readonly store: EtcdStore,
    private readonly metrics: MetricsService,
  ) {
    this.log = logger.child({ component: 'gateway' });
    this.httpUrl = httpUrlOf(config);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.joinToken === '') this.log.warn('no join token configured: any agent that reaches the gateway may join');
    this.unsubscribe = this.store.onChange((events, resync) => this.dispatch(events, resync));
    await this.listen();
  }

  async onModuleDestroy(): Promise<void> {
    this.unsubscribe?.();
    for (const session of [...this.sessions.values(), ...this.pending]) session.fail(grpc.status.UNAVAILABLE, 'scheduler replica is shutting down; reconnect to another');
    await new Promise<void>((resolve) => (this.server ? this.server.tryShutdown(() => resolve()) : resolve()));
    // Revoking releases every connection claim of this replica at once.
    await this.lease?.revoke().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    const { AgentGateway } = loadBerthProto();
    const server = new grpc.Server({ 'grpc.keepalive_time_ms': 20_000, 'grpc.keepalive_permit_without_calls': 1 });
    server.addService(AgentGateway.service, { connect: (call: AgentCall) => this.accept(call) });
    const credentials = this.config.tls
      ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: this.config.tls.cert, private_key: this.config.tls.key }], false)
      : grpc.ServerCredentials.createInsecure();
    const { host, port } = this.config.grpcListen;
    const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(address, credentials, (error, bound) => (error ? reject(new Error(`cannot listen for agents on ${address}: ${error.message}`)) : resolve(bound))),
    );
    this.server = server;
    this.log.info({ address: `${host}:${this.port}`, tls: Boolean(this.config.tls) }, 'agent gateway listening');
  }

  private accept(call: AgentCall): void {
    const header = call.metadata.get('authorization')[0];
    const token = bearerToken(typeof header === 'string' ? header : header?.toString('utf8'));
    const check = (presented: string) => this.config.joinToken === '' || tokenMatches(presented, this.config.joinToken);
    const session = new AgentSession(call, this, this.log, token !== undefined, check);
    if (token !== undefined && !check(token)) {
      this.log.warn({ peer: call.getPeer() }, 'join token rejected');
      session.fail(grpc.status.UNAUTHENTICATED, 'join token rejected: check the agent\'s --join-token against the scheduler\'s');
      return;
    }
    this.pending.add(session);
    session.start();
  }

  async sessionLease(): Promise<Lease> {
    if (this.lease !== undefined && !this.lease.revoked()) return this.lease;
    const lease = this.store.lease(SESSION_LEASE_TTL_S, true);
    lease.on('lost', (error) => this.onSessionLeaseLost(lease, error.message));
    await lease.grant();
    this.lease = lease;
    return lease;
  }

  private onSessionLeaseLost(lease: Lease, why: string): void {
    if (lease !== this.lease) return;
    this.lease = undefined;
    this.log.error({ why }, 'session lease lost: closing every agent stream so agents reconnect and claim again');
    for (const session of this.sessions.values()) session.fail(grpc.status.UNAVAILABLE, 'scheduler lost its etcd session; reconnect');
  }

  attach(session: AgentSession): void {
    this.pending.delete(session);
    this.sessions.set(session.machineId, session);
    this.metrics.agentsConnected.set(this.sessions.size);
  }

  detach(session: AgentSession): void {
    this.pending.delete(session);
    if (this.sessions.get(session.machineId) === session) this.sessions.delete(session.machineId);
    this.metrics.agentsConnected.set(this.sessions.size);
  }

  /** Returns the local session of a machine, if its agent is connected to this replica. */
  session(machineId: string): AgentSession | undefined {
    return this.sessions.get(machineId);
  }

  /** Relays a journal request to a locally connected agent; undefined when the agent is elsewhere. */
  requestLogs(machineId: string, unit: string, lines: number, follow: boolean, sink: LogSink): (() => void) | undefined {
    return this.sessions.get(machineId)?.requestLogs(unit, lines, follow, sink);
  }

  /** Routes assignment changes to the sessions of their machines, one update per machine per batch. */
  private dispatch(events: StoreEvent[], resync: boolean): void {
    if (resync) {
      for (const session of this.sessions.values()) session.sendFullSet();
      return;
    }
    const perMachine = new Map<string, { upserts: MirroredAssignment[]; removals: string[]; revision: number }>();
    for (const event of events) {
      const parsed = this.store.keys.parse(event.key);
      if (parsed?.kind !== 'assignments') continue;
      const [machineId, ...rest] = parsed.parts;
      if (!this.sessions.has(machineId)) continue;
      const unit = rest.join('/');
      let entry = perMachine.get(machineId);
      if (entry === undefined) perMachine.set(machineId, (entry = { upserts: [], removals: [], revision: 0 }));
      entry.revision = Math.max(entry.revision, event.modRevision);
      entry.upserts = entry.upserts.filter((a) => a.record.unit !== unit);
      entry.removals = entry.removals.filter((name) => name !== unit);
      const current = this.store.mirror.assignments.get(machineId)?.get(unit);
      if (event.type === 'put' && current !== undefined) entry.upserts.push(current);
      else if (event.type === 'delete') entry.removals.push(unit);
    }
    for (const [machineId, entry] of perMachine) {
      this.sessions.get(machineId)?.sendUpdate(entry.upserts, entry.removals, entry.revision);
    }
  }
}
