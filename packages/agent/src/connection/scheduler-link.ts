import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../logger';
import { Backoff } from './backoff';
import { ConnectionLifecycle, ConnectionState } from './connection-state';
import { AgentGatewayClientConstructor, AgentMessage, SchedulerMessage } from './proto';

export const RECONNECT_INITIAL_MS = 500;
/** Cap of the reconnect delay: short, because a scheduler restart should not leave agents away long. */
export const RECONNECT_MAX_MS = 10_000;
/** A scheduler that accepts the stream but sends no Welcome within this time counts as failed. */
export const WELCOME_TIMEOUT_MS = 10_000;
/** Heartbeat interval until Welcome sets one. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5000;

export interface SchedulerLinkOptions {
  endpoints: string[];
  joinToken: string;
  /** PEM CA of the schedulers; undefined for plain gRPC. */
  ca?: string;
  client: AgentGatewayClientConstructor;
  log: Logger;
  /** Builds Hello for each attempt, so it lists the units running at that moment. */
  hello: () => NonNullable<AgentMessage['hello']>;
  /** Every message from the scheduler after Welcome. */
  onMessage: (message: SchedulerMessage) => void;
  /** Called after each Welcome, before any assignment. */
  onConnected: (schedulerId: string) => void;
  backoff?: Backoff;
}

/**
 * The agent's stream to a scheduler replica. It dials the endpoints in turn, moving to the next one
 * after each failure, with exponential backoff and jitter between attempts. A lost stream changes
 * nothing on the host; the owner keeps running the last assignment.
 */
export class SchedulerLink {
  private readonly lifecycle: ConnectionLifecycle;
  private readonly backoff: Backoff;
  private readonly log: Logger;
  private endpointIndex = 0;
  private call: grpc.ClientDuplexStream<AgentMessage, SchedulerMessage> | undefined;
  private client: InstanceType<AgentGatewayClientConstructor> | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private welcomeTimer: NodeJS.Timeout | undefined;
  /** Last failure message logged per endpoint, so a repeated failure is logged once. */
  private readonly lastFailure = new Map<string, string>();
  private failedAttempts = 0;
  /** Start of the current time without a scheduler; undefined while connected. */
  private disconnectedSince: number | undefined = Date.now();

  constructor(private readonly options: SchedulerLinkOptions) {
    this.log = options.log.child({ component: 'scheduler-link' });
    this.lifecycle = new ConnectionLifecycle(this.log);
    this.backoff = options.backoff ?? new Backoff({ initialMs: RECONNECT_INITIAL_MS, maxMs: RECONNECT_MAX_MS });
  }

  get state(): ConnectionState {
    return this.lifecycle.state;
  }

  /** Time (ms since epoch) since which no scheduler stream is up; undefined while connected. */
  disconnectedSinceMs(): number | undefined {
    return this.disconnectedSince;
  }

  start(): void {
    this.connect();
  }

  /** Sends a message when connected; returns false (and drops it) otherwise. */
  send(message: AgentMessage): boolean {
    if (this.lifecycle.state !== ConnectionState.Connected || !this.call) return false;
    this.call.write(message);
    return true;
  }

  /** Tells the scheduler the agent leaves on purpose, then closes. Resolves when sent or not possible. */
  async drain(reason: string): Promise<boolean> {
    const sent = this.send({ drain: { reason } });
    if (this.lifecycle.state !== ConnectionState.Stopped) this.lifecycle.transition(ConnectionState.Draining, { reason });
    if (sent) await new Promise((resolve) => setTimeout(resolve, 200));
    this.close();
    return sent;
  }

  /** Closes the stream for good. */
  close(): void {
    this.clearTimers();
    this.lifecycle.transition(ConnectionState.Stopped);
    this.teardownCall();
  }

  private connect(): void {
    const endpoint = this.options.endpoints[this.endpointIndex % this.options.endpoints.length];
    this.lifecycle.transition(ConnectionState.Connecting, { endpoint });
    const credentials = this.options.ca === undefined ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(Buffer.from(this.options.ca));
    this.client = new this.options.client(endpoint, credentials, { 'grpc.keepalive_time_ms': 10_000, 'grpc.keepalive_timeout_ms': 5000 });
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${this.options.joinToken}`);
    const call = this.client.Connect(metadata);
    this.call = call;

    call.on('data', (message: SchedulerMessage) => this.receive(endpoint, message));
    call.on('error', (error: grpc.ServiceError) => this.fail(endpoint, call, describeGrpcError(error)));
    call.on('end', () => this.fail(endpoint, call, 'the scheduler ended the stream'));
    call.write({ hello: this.options.hello() });
    this.welcomeTimer = setTimeout(() => this.fail(endpoint, call, `no Welcome within ${WELCOME_TIMEOUT_MS} ms`), WELCOME_TIMEOUT_MS);
  }

  private receive(endpoint: string, message: SchedulerMessage): void {
    if (message.welcome) return this.welcomed(endpoint, message.welcome);
    if (message.error) {
      const text = `scheduler error ${message.error.code}: ${message.error.message}`;
      if (message.error.fatal) return this.fail(endpoint, this.call!, text);
      this.log.warn({ code: message.error.code }, text);
      return;
    }
    if (this.lifecycle.state === ConnectionState.Connected) this.options.onMessage(message);
  }

  private welcomed(endpoint: string, welcome: NonNullable<SchedulerMessage['welcome']>): void {
    if (this.welcomeTimer) clearTimeout(this.welcomeTimer);
    this.lifecycle.transition(ConnectionState.Connected, { endpoint, scheduler: welcome.schedulerId, failedAttempts: this.failedAttempts });
    this.backoff.reset();
    this.disconnectedSince = undefined;
    this.failedAttempts = 0;
    this.lastFailure.clear();
    const intervalMs = welcome.heartbeatIntervalMs > 0 ? welcome.heartbeatIntervalMs : DEFAULT_HEARTBEAT_INTERVAL_MS;
    this.heartbeatTimer = setInterval(() => this.send({ heartbeat: { sentAtMs: String(Date.now()) } }), intervalMs);
    this.options.onConnected(welcome.schedulerId);
  }

  private fail(endpoint: string, call: grpc.ClientDuplexStream<AgentMessage, SchedulerMessage>, reason: string): void {
    // Events of a stream that was already replaced or closed are stale.
    if (call !== this.call || this.lifecycle.state === ConnectionState.Stopped || this.lifecycle.state === ConnectionState.Draining) return;
    this.clearTimers();
    this.teardownCall();
    this.disconnectedSince ??= Date.now();
    this.failedAttempts++;
    if (this.lastFailure.get(endpoint) !== reason) {
      this.lastFailure.set(endpoint, reason);
      this.log.warn({ endpoint, attempt: this.failedAttempts }, `connection to scheduler ${endpoint} failed: ${reason}`);
    }
    const delayMs = this.backoff.next();
    this.lifecycle.transition(ConnectionState.Backoff, { delayMs });
    this.endpointIndex++;
    this.retryTimer = setTimeout(() => this.connect(), delayMs);
  }

  private teardownCall(): void {
    const call = this.call;
    this.call = undefined;
    if (call) {
      call.removeAllListeners('data');
      call.on('error', () => undefined);
      call.cancel();
    }
    this.client?.close();
    this.client = undefined;
  }

  private clearTimers(): void {
    for (const timer of [this.heartbeatTimer, this.retryTimer, this.welcomeTimer]) if (timer) clearTimeout(timer);
    this.heartbeatTimer = this.retryTimer = this.welcomeTimer = undefined;
  }
}

/** `UNAVAILABLE: No connection established` rather than grpc-js's numeric code and details. */
function describeGrpcError(error: grpc.ServiceError): string {
  const name = grpc.status[error.code] ?? String(error.code);
  return `${name}: ${error.details || error.message}`;
}
