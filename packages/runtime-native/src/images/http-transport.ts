import { Agent as HttpAgent, ClientRequest, IncomingMessage, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import { RegistryError } from './errors';

/**
 * How long a request or a body read may wait without receiving a byte before it fails with
 * ETIMEDOUT. Time the caller spends not reading the body does not count.
 */
export const IDLE_TIMEOUT_MS = 60_000;

/** Sent with every request, as other registry clients name themselves. */
const USER_AGENT = 'berth-image-puller/0.1';

/** Largest body that `text()` and `json()` read. Error documents and token responses are a few KiB. */
export const MAX_TEXT_BODY_BYTES = 4 * 1024 * 1024;

/** One request: GET or POST, with headers and an optional body. */
export interface HttpRequestOptions {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** Response header lookup in the shape of fetch's `Headers.get`. */
export interface HttpResponseHeaders {
  /** Returns every value of `name` (any case) joined with ", ", or null when the header is absent. */
  get(name: string): string | null;
}

/** A response whose body has not been read yet. Read the body to the end or call `cancel()`, because an unread body keeps its connection open. */
export interface HttpResponse {
  readonly url: string;
  readonly status: number;
  /** True for a 2xx status. */
  readonly ok: boolean;
  readonly headers: HttpResponseHeaders;
  /** The body bytes exactly as sent, never decoded, whatever the Content-Encoding header. */
  readonly body: AsyncIterable<Buffer>;
  /** Reads the body as UTF-8. Throws RegistryError when it is larger than the transport's text limit. */
  text(): Promise<string>;
  /** Reads and parses the body. Throws RegistryError when it is too large or not JSON. */
  json(): Promise<unknown>;
  /** Discards the rest of the body and closes its connection, so the connection is not reused half-read. */
  cancel(): void;
}

/**
 * Sends one HTTP request and resolves once the response headers arrive. Redirects are returned,
 * not followed. Rejects with the network error (code ECONNREFUSED, ETIMEDOUT, ...) when the
 * request fails before a response.
 */
export interface HttpTransport {
  request(url: string | URL, options?: HttpRequestOptions): Promise<HttpResponse>;
}

/** Settings of a NodeHttpTransport. Tests shorten the timeout. */
export interface NodeHttpTransportOptions {
  idleTimeoutMs?: number;
  maxTextBytes?: number;
}

// One keep-alive pool per protocol for the whole process: pulls share connections to a registry.
// Node 20 unreferences idle pooled sockets, so they do not keep a process alive.
const HTTP_AGENT = new HttpAgent({ keepAlive: true });
const HTTPS_AGENT = new HttpsAgent({ keepAlive: true });

/**
 * HttpTransport on node:http and node:https. It requests `Accept-Encoding: identity` and never decodes a
 * body, because registry clients hash the bytes as the server sent them. TLS certificates are
 * verified against Node's CA store, which includes NODE_EXTRA_CA_CERTS.
 */
export class NodeHttpTransport implements HttpTransport {
  private readonly idleTimeoutMs: number;
  private readonly maxTextBytes: number;

  constructor(options: NodeHttpTransportOptions = {}) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    this.maxTextBytes = options.maxTextBytes ?? MAX_TEXT_BODY_BYTES;
  }

  /** Sends the request. Rejects with RegistryError for a URL that is not http or https. */
  request(url: string | URL, options: HttpRequestOptions = {}): Promise<HttpResponse> {
    const target = new URL(url);
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      return Promise.reject(new RegistryError(`${target.href}: protocol ${target.protocol} is not supported, only http and https are`));
    }
    // Registries log and sometimes rate-limit by User-Agent. Without Accept-Encoding a server may
    // pick any encoding, so identity is asked for explicitly.
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, 'accept-encoding': 'identity', ...options.headers };
    if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const agent = target.protocol === 'https:' ? HTTPS_AGENT : HTTP_AGENT;

    return new Promise<HttpResponse>((resolve, reject) => {
      const outgoing = send(target, { method: options.method ?? 'GET', headers, agent });
      const deadline = new IdleDeadline(this.idleTimeoutMs, () => outgoing.destroy(idleTimeoutError(target, this.idleTimeoutMs)));
      deadline.startWaiting();
      // Errors after the response arrive through the body; this listener also keeps them from
      // becoming uncaught 'error' events.
      outgoing.on('error', (error) => {
        deadline.stop();
        reject(error);
      });
      outgoing.on('response', (message) => {
        deadline.stopWaiting();
        resolve(new NodeHttpResponse(target.href, message, outgoing, deadline, this.maxTextBytes));
      });
      outgoing.end(options.body);
    });
  }
}

/** The transport every RegistryClient uses unless its options name another. */
export const defaultTransport: HttpTransport = new NodeHttpTransport();

class NodeHttpResponse implements HttpResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: HttpResponseHeaders;
  readonly body: AsyncIterable<Buffer>;

  constructor(
    readonly url: string,
    private readonly message: IncomingMessage,
    outgoing: ClientRequest,
    deadline: IdleDeadline,
    private readonly maxTextBytes: number,
  ) {
    this.status = message.statusCode ?? 0;
    this.ok = this.status >= 200 && this.status <= 299;
    this.headers = { get: (name) => message.headersDistinct[name.toLowerCase()]?.join(', ') ?? null };
    this.body = timedBody(message, deadline);
    deadline.onIdle = () => {
      const error = idleTimeoutError(new URL(url), deadline.idleMs);
      message.destroy(error);
      outgoing.destroy(error);
    };
    message.once('close', () => deadline.stop());
  }

  async text(): Promise<string> {
    return (await this.readCapped()).toString('utf8');
  }

  async json(): Promise<unknown> {
    const text = await this.text();
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new RegistryError(`${this.url}: the response body is not valid JSON (${(error as Error).message})`, this.status, { cause: error });
    }
  }

  cancel(): void {
    // Destroying an incomplete message also destroys its socket instead of returning it to the pool.
    this.message.destroy();
  }

  private async readCapped(): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of this.body) {
      total += chunk.length;
      if (total > this.maxTextBytes) {
        this.cancel();
        throw new RegistryError(`${this.url}: the response body is larger than ${this.maxTextBytes} bytes`, this.status);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }
}

/** Iterates the message's chunks, counting only the time spent waiting for the next one. */
function timedBody(message: IncomingMessage, deadline: IdleDeadline): AsyncIterable<Buffer> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<Buffer> {
      const chunks = message[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      return {
        async next() {
          deadline.startWaiting();
          try {
            return await chunks.next();
          } finally {
            deadline.stopWaiting();
          }
        },
        async return() {
          // Leaving the loop early destroys the message, as it does for a plain Readable.
          return (await chunks.return?.()) ?? { done: true, value: undefined };
        },
      };
    },
  };
}

/**
 * Fires `onIdle` once the owner has been waiting for data for `idleMs` without a break. One timer
 * per exchange is re-armed only when it fires, so waiting per chunk costs two clock reads.
 */
class IdleDeadline {
  private waitingSinceMs: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly idleMs: number, public onIdle: () => void) {}

  startWaiting(): void {
    this.waitingSinceMs = performance.now();
    if (this.timer === undefined) this.arm(this.idleMs);
  }

  stopWaiting(): void {
    this.waitingSinceMs = undefined;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.waitingSinceMs = undefined;
  }

  private arm(delayMs: number): void {
    this.timer = setTimeout(() => this.check(), delayMs);
    this.timer.unref();
  }

  private check(): void {
    this.timer = undefined;
    if (this.waitingSinceMs === undefined) return;
    const waitedMs = performance.now() - this.waitingSinceMs;
    if (waitedMs >= this.idleMs) {
      this.onIdle();
      return;
    }
    this.arm(this.idleMs - waitedMs);
  }
}

function idleTimeoutError(url: URL, idleMs: number): Error {
  return Object.assign(new Error(`${url.origin}: timed out after ${idleMs} ms without receiving data`), { code: 'ETIMEDOUT' });
}
