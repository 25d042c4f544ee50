import { ApiError, ProtocolError, UnreachableError, UsageError } from '../errors';
import type { ApiErrorBody, FleetState, Machine, PutUnitRequest, UnitDetail, UnitState, UnitSummary } from './types';

/** The scheduler's default address, used when neither `--endpoint` nor `BERTHCTL_ENDPOINT` is set. */
export const DEFAULT_ENDPOINT = 'http://127.0.0.1:7070';
/** Time allowed for one request until its response headers arrive. */
export const DEFAULT_REQUEST_TIMEOUT_S = 10;

const ERROR_BODY_PREVIEW_CHARS = 200;

export interface ClientOptions {
  /** One or more scheduler base URLs; a connection failure moves on to the next one. */
  endpoints: string[];
  token?: string;
  requestTimeoutMs: number;
}

/** Result of `PUT /v1/units/NAME`: 201 when created, 200 when it already existed with the same hash. */
export interface PutUnitResult {
  created: boolean;
}

/**
 * Parses an `--endpoint` value: a comma-separated list of http(s) URLs.
 * Throws UsageError for an empty list, a malformed URL or a scheme other than http and https.
 */
export function parseEndpoints(value: string): string[] {
  const endpoints = value.split(',').map((item) => item.trim()).filter((item) => item !== '');
  if (endpoints.length === 0) throw new UsageError(`invalid endpoint "${value}": expected an http:// or https:// URL`);
  return endpoints.map((endpoint) => {
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint)) {
      throw new UsageError(`invalid endpoint "${endpoint}": expected a URL with a scheme, such as http://${endpoint}`);
    }
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new UsageError(`invalid endpoint "${endpoint}": expected a URL such as ${DEFAULT_ENDPOINT}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UsageError(`endpoint scheme "${url.protocol}" in "${endpoint}" is not supported: use http:// or https://`);
    }
    return endpoint.replace(/\/+$/, '');
  });
}

/**
 * A client of the scheduler's HTTP API (docs/api.md). Methods throw UnreachableError when no
 * endpoint responds, ApiError with the API's own message for an error status, and ProtocolError
 * when a response is not the JSON the API describes.
 */
/** Response header in which the scheduler names the machine a journal comes from. */
const JOURNAL_MACHINE_HEADER = 'x-berth-machine-id';

/** An open journal response. */
export interface JournalStream {
  body: ReadableStream<Uint8Array>;
  /** Machine the lines come from, or null when the scheduler sent no machine header. */
  machineId: string | null;
}

export class SchedulerClient {
  /** Index of the endpoint that responded last, where later requests start. */
  private current = 0;

  constructor(private readonly options: ClientOptions) {}

  /** The endpoint requests go to first. */
  get endpoint(): string {
    return this.options.endpoints[this.current];
  }

  async listUnits(): Promise<UnitSummary[]> {
    const body = await this.requestJson<{ units: UnitSummary[] }>('GET', '/v1/units');
    return expectArray(body.units, 'units', 'GET /v1/units');
  }

  async getUnit(name: string): Promise<UnitDetail> {
    return this.requestJson<UnitDetail>('GET', unitPath(name));
  }

  /** Returns the unit, or null when the scheduler returns 404. */
  async findUnit(name: string): Promise<UnitDetail | null> {
    try {
      return await this.getUnit(name);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  }

  async putUnit(name: string, request: PutUnitRequest): Promise<PutUnitResult> {
    const response = await this.send('PUT', unitPath(name), request);
    await response.arrayBuffer();
    return { created: response.status === 201 };
  }

  async setDesiredState(name: string, desiredState: FleetState): Promise<void> {
    const response = await this.send('PATCH', unitPath(name), { desiredState });
    await response.arrayBuffer();
  }

  async deleteUnit(name: string): Promise<void> {
    const response = await this.send('DELETE', unitPath(name));
    await response.arrayBuffer();
  }

  async listStates(filter: { unit?: string; machine?: string } = {}): Promise<UnitState[]> {
    const query = new URLSearchParams();
    if (filter.unit !== undefined) query.set('unit', filter.unit);
    if (filter.machine !== undefined) query.set('machine', filter.machine);
    const suffix = query.size > 0 ? `?${query.toString()}` : '';
    const body = await this.requestJson<{ states: UnitState[] }>('GET', `/v1/state${suffix}`);
    return expectArray(body.states, 'states', 'GET /v1/state');
  }

  async listMachines(): Promise<Machine[]> {
    const body = await this.requestJson<{ machines: Machine[] }>('GET', '/v1/machines');
    return expectArray(body.machines, 'machines', 'GET /v1/machines');
  }

  /**
   * Opens the unit's journal. The request timeout covers only the response headers, so a
   * followed journal streams for as long as the caller reads it.
   */
  async openJournal(name: string, options: { lines: number; follow: boolean; machine?: string }): Promise<JournalStream> {
    const query = new URLSearchParams({ lines: String(options.lines) });
    if (options.follow) query.set('follow', 'true');
    if (options.machine !== undefined) query.set('machine', options.machine);
    const response = await this.send('GET', `${unitPath(name)}/journal?${query.toString()}`);
    if (response.body === null) throw new ProtocolError(`scheduler at ${this.endpoint} returned an empty journal response`);
    return { body: response.body, machineId: response.headers.get(JOURNAL_MACHINE_HEADER) };
  }

  private async requestJson<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body);
    const text = await response.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ProtocolError(`scheduler at ${this.endpoint} returned invalid JSON for ${method} ${path}: ${preview(text)}`);
    }
  }

  /**
   * Sends one request, trying each endpoint in turn until one accepts the connection. A replica
   * that returns 503 (its etcd is unreachable) is also skipped while other endpoints remain.
   */
  private async send(method: string, path: string, body?: unknown): Promise<Response> {
    const failures: string[] = [];
    let unavailable: ApiError | undefined;
    const count = this.options.endpoints.length;
    for (let attempt = 0; attempt < count; attempt++) {
      const index = (this.current + attempt) % count;
      const endpoint = this.options.endpoints[index];
      const response = await this.sendTo(endpoint, method, path, body).catch((error: unknown) => {
        failures.push(`${endpoint} (${describeNetworkError(error, this.options.requestTimeoutMs)})`);
        return null;
      });
      if (response === null) continue;
      if (response.status === 503) {
        unavailable = await toApiError(response, endpoint, method, path);
        continue;
      }

      this.current = index;
      if (!response.ok) throw await toApiError(response, endpoint, method, path);
      return response;
    }
    if (unavailable !== undefined) throw unavailable;
    throw new UnreachableError(
      `cannot reach the scheduler at ${failures.join(', ')}: ` +
        'start it, or point berthctl elsewhere with --endpoint URL or BERTHCTL_ENDPOINT',
    );
  }

  private async sendTo(endpoint: string, method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.options.token !== undefined && this.options.token !== '') headers.authorization = `Bearer ${this.options.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new RequestTimeout()), this.options.requestTimeoutMs);
    try {
      return await fetch(`${endpoint}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
      });
    } finally {
      clearTimeout(timer);
    }
  }
}

class RequestTimeout extends Error {}

function unitPath(name: string): string {
  return `/v1/units/${encodeURIComponent(name)}`;
}

function expectArray<T>(value: T[] | undefined, field: string, request: string): T[] {
  if (!Array.isArray(value)) throw new ProtocolError(`${request} returned no "${field}" array`);
  return value;
}

function preview(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > ERROR_BODY_PREVIEW_CHARS ? `${flat.slice(0, ERROR_BODY_PREVIEW_CHARS)}...` : flat || '(empty body)';
}

/** Turns fetch's nested network error into one line, such as `connect ECONNREFUSED 127.0.0.1:7070`. */
function describeNetworkError(error: unknown, timeoutMs: number): string {
  if (error instanceof RequestTimeout || (error instanceof Error && error.name === 'AbortError')) {
    return `no response within ${timeoutMs / 1000} s; raise --request-timeout if the scheduler is slow`;
  }
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    if (cause instanceof Error && cause.message !== '') return cause.message;
    return error.message;
  }
  return String(error);
}

async function toApiError(response: Response, endpoint: string, method: string, path: string): Promise<ApiError> {
  const text = await response.text();
  let parsed: ApiErrorBody | undefined;
  try {
    parsed = JSON.parse(text) as ApiErrorBody;
  } catch {
    parsed = undefined;
  }
  const error = parsed?.error;
  if (error === undefined || typeof error.message !== 'string') {
    return new ApiError(
      `scheduler at ${endpoint} returned HTTP ${response.status} for ${method} ${path}: ${preview(text)}`,
      response.status,
      `http_${response.status}`,
      {},
    );
  }
  let message = error.message;
  if (response.status === 401) message += ' (pass the API token with --token or BERTHCTL_TOKEN)';
  return new ApiError(message, response.status, String(error.code), error.details ?? {});
}
