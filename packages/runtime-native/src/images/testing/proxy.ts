import { createServer, IncomingMessage, request, Server, ServerResponse } from 'node:http';

/** The proxy's handling of one request. */
export type ProxyAction =
  | { kind: 'pass' }
  /** Forward, then flip one byte of the body before sending it on. */
  | { kind: 'tamper' }
  /** Forward, send the headers and the first `bytes` of the body, then cut the connection. */
  | { kind: 'reset'; bytes: number }
  /** Respond with this status and no body, without contacting the registry. */
  | { kind: 'status'; status: number }
  /** Respond with this handler, without contacting the registry. */
  | { kind: 'respond'; handler: (request: IncomingMessage, response: ServerResponse) => void };

/** A loopback HTTP proxy in front of a registry that can tamper with, cut or replace responses. */
export interface RegistryProxy {
  host: string;
  /** Every request seen: method, path and the headers the tests look at. */
  requests: { method: string; url: string; range?: string; authorization?: string }[];
  stop(): Promise<void>;
}

/** Starts a proxy to `upstream` (`http://host:port`); `decide` picks the action per request. */
export async function startRegistryProxy(upstream: string, decide: (request: IncomingMessage) => ProxyAction): Promise<RegistryProxy> {
  const requests: RegistryProxy['requests'] = [];
  const server: Server = createServer((incoming, response) => {
    requests.push({
      method: incoming.method ?? '', url: incoming.url ?? '',
      ...(incoming.headers.range ? { range: incoming.headers.range } : {}),
      ...(incoming.headers.authorization ? { authorization: incoming.headers.authorization } : {}),
    });
    const action = decide(incoming);
    if (action.kind === 'status') {
      response.writeHead(action.status).end();
      return;
    }
    if (action.kind === 'respond') {
      action.handler(incoming, response);
      return;
    }
    forward(upstream, incoming, response, action);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function forward(upstream: string, incoming: IncomingMessage, response: ServerResponse, action: ProxyAction): void {
  const headers = { ...incoming.headers };
  delete headers.authorization;
  delete headers.host;
  const outgoing = request(`${upstream}${incoming.url}`, { method: incoming.method, headers }, (answer) => {
    const chunks: Buffer[] = [];
    answer.on('data', (chunk: Buffer) => chunks.push(chunk));
    answer.on('end', () => {
      let body = Buffer.concat(chunks);
      if (action.kind === 'tamper' && body.length > 0) {
        body = Buffer.from(body);
        body[body.length >> 1] ^= 0xff;
      }
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      if (action.kind === 'reset') {
        response.write(body.subarray(0, action.bytes), () => response.socket?.destroy());
        return;
      }
      response.end(body);
    });
  });
  outgoing.on('error', () => response.destroy());
  incoming.pipe(outgoing);
}
