import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AuthenticationError } from './errors';
import { defaultTransport, HttpResponse, HttpTransport } from './http-transport';
import { DOCKER_HUB_API_HOST, DOCKER_HUB_REGISTRY } from './reference';
import { isNetworkError } from './retry';

/** A user name and password (or an identity token as password) for one registry. */
export interface RegistryCredentials {
  username: string;
  password: string;
  /**
   * OAuth2 refresh token (`identitytoken` in Docker's config). When set, tokens are requested with
   * `POST realm` and `grant_type=refresh_token` instead of Basic credentials.
   */
  identityToken?: string;
}

/** Client id sent with OAuth2 token requests; registries only log it. */
const OAUTH_CLIENT_ID = 'berth';

/** One parsed `WWW-Authenticate` challenge. */
export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

/** Default token lifetime when the token service omits `expires_in`, per the token auth spec. */
const DEFAULT_TOKEN_TTL_S = 60;
/** Tokens are dropped this long before their expiry so a request never carries a stale one. */
const TOKEN_EXPIRY_MARGIN_MS = 5_000;
const DOCKER_HUB_CONFIG_KEYS = ['https://index.docker.io/v1/', 'index.docker.io', DOCKER_HUB_REGISTRY, DOCKER_HUB_API_HOST];

/**
 * Parses a `WWW-Authenticate` header into challenges. Parameters are an auth-param list whose quoted
 * values may contain commas and backslash escapes. Returns an empty list for an empty header.
 */
export function parseChallenges(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let index = 0;
  let current: AuthChallenge | undefined;
  while (index < header.length) {
    index = skip(header, index, /[\s,]/);
    const token = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+/.exec(header.slice(index));
    if (!token) break;
    index += token[0].length;
    const afterToken = skip(header, index, /\s/);
    if (header[afterToken] === '=') {
      const { value, next } = readParamValue(header, skip(header, afterToken + 1, /\s/));
      if (current) current.params[token[0].toLowerCase()] = value;
      index = next;
    } else {
      current = { scheme: token[0].toLowerCase(), params: {} };
      challenges.push(current);
      index = afterToken;
    }
  }
  return challenges;
}

function skip(text: string, index: number, pattern: RegExp): number {
  while (index < text.length && pattern.test(text[index]!)) index++;
  return index;
}

function readParamValue(text: string, index: number): { value: string; next: number } {
  if (text[index] !== '"') {
    const match = /^[^\s,]*/.exec(text.slice(index))![0];
    return { value: match, next: index + match.length };
  }
  let value = '';
  let cursor = index + 1;
  while (cursor < text.length && text[cursor] !== '"') {
    if (text[cursor] === '\\' && cursor + 1 < text.length) cursor++;
    value += text[cursor];
    cursor++;
  }
  return { value, next: cursor + 1 };
}

/**
 * Reads credentials for `registry` from a Docker client config file (`auths`, with either a base64
 * `auth` of `user:password` or `username`/`password`). Returns undefined when the file or the entry
 * is missing; throws AuthenticationError naming the file and host when the entry is malformed.
 */
export function readDockerConfigCredentials(registry: string, configPath = defaultDockerConfigPath()): RegistryCredentials | undefined {
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch {
    return undefined;
  }
  let auths: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  try {
    auths = (JSON.parse(text) as { auths?: typeof auths }).auths ?? {};
  } catch (error) {
    throw new AuthenticationError(`cannot read credentials from ${configPath}: the file is not valid JSON (${(error as Error).message})`);
  }
  const keys = registry === DOCKER_HUB_REGISTRY ? DOCKER_HUB_CONFIG_KEYS : [registry, `https://${registry}`, `http://${registry}`];
  const entry = keys.map((key) => auths[key]).find((candidate) => candidate !== undefined);
  if (!entry) return undefined;
  if (entry.identitytoken) return { username: entry.username ?? '<token>', password: '', identityToken: entry.identitytoken };
  if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
  if (entry.auth === undefined) return undefined;
  const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) {
    throw new AuthenticationError(`credentials for ${registry} in ${configPath} are malformed: "auth" must be base64 of user:password`);
  }
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function defaultDockerConfigPath(): string {
  return join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
}

/** Formats a Basic `Authorization` header value. */
export function basicAuthorization(credentials: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

interface CachedToken {
  token: string;
  expiresAtMs: number;
}

/** Bearer tokens cached per (realm, service, scope) until shortly before they expire. */
export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();

  get(key: string, nowMs = Date.now()): string | undefined {
    const cached = this.tokens.get(key);
    if (!cached) return undefined;
    if (cached.expiresAtMs - TOKEN_EXPIRY_MARGIN_MS <= nowMs) {
      this.tokens.delete(key);
      return undefined;
    }
    return cached.token;
  }

  set(key: string, token: string, expiresInS: number | undefined, issuedAt: string | undefined, nowMs = Date.now()): void {
    const issuedMs = issuedAt ? Date.parse(issuedAt) : NaN;
    const startMs = Number.isFinite(issuedMs) && issuedMs <= nowMs ? issuedMs : nowMs;
    const ttlS = typeof expiresInS === 'number' && expiresInS > 0 ? expiresInS : DEFAULT_TOKEN_TTL_S;
    this.tokens.set(key, { token, expiresAtMs: startMs + ttlS * 1000 });
  }
}

/** Token cache key for a Bearer challenge. */
export function tokenKey(params: Record<string, string>, scope: string): string {
  return `${params.realm ?? ''}\n${params.service ?? ''}\n${scope}`;
}

/**
 * Asks a token service for a Bearer token as the Docker token auth spec describes: `GET realm?
 * service=…&scope=…`, with Basic credentials when we have them. Throws AuthenticationError naming the
 * realm (never the credentials) when the service rejects us or sends no token.
 */
export async function fetchBearerToken(
  params: Record<string, string>,
  scope: string,
  credentials: RegistryCredentials | undefined,
  cache: TokenCache,
  transport: HttpTransport = defaultTransport,
): Promise<string> {
  // Different users may be granted different scopes, so the user is part of the key.
  const key = `${tokenKey(params, scope)}\n${credentials?.username ?? ''}`;
  const cached = cache.get(key);
  if (cached) return cached;
  if (!params.realm) throw new AuthenticationError('the registry sent a Bearer challenge without a realm; cannot obtain a token');
  const url = new URL(params.realm);
  if (url.protocol !== 'https:' && !isLoopbackHost(url.hostname)) {
    throw new AuthenticationError(`token realm ${url.origin} is not https; refusing to send a token request to it`);
  }
  const response = credentials?.identityToken
    ? await requestOAuthToken(url, params, scope, credentials.identityToken, transport)
    : await requestToken(url, params, scope, credentials, transport);
  if (!response.ok) {
    response.cancel();
    throw new AuthenticationError(`token service ${url.origin}${url.pathname} responded ${response.status} for scope "${scope}"${credentials ? ` as user "${credentials.username}"` : ' (anonymous)'}; check the credentials`);
  }
  const body = await readTokenResponse(response, url, scope);
  const token = body.token ?? body.access_token;
  if (!token) throw new AuthenticationError(`token service ${url.origin}${url.pathname} returned no token for scope "${scope}"`);
  cache.set(key, token, body.expires_in, body.issued_at);
  return token;
}

/** The token auth spec's `GET realm?service=…&scope=…`, with Basic credentials when we have them. */
async function requestToken(url: URL, params: Record<string, string>, scope: string, credentials: RegistryCredentials | undefined, transport: HttpTransport): Promise<HttpResponse> {
  if (params.service) url.searchParams.set('service', params.service);
  url.searchParams.append('scope', scope);
  if (credentials) url.searchParams.set('account', credentials.username);
  const headers: Record<string, string> = credentials ? { authorization: basicAuthorization(credentials) } : {};
  return transport.request(url, { headers });
}

/** The OAuth2 variant: `POST realm` with a form carrying the refresh token. */
async function requestOAuthToken(url: URL, params: Record<string, string>, scope: string, refreshToken: string, transport: HttpTransport): Promise<HttpResponse> {
  const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: OAUTH_CLIENT_ID, scope });
  if (params.service) form.set('service', params.service);
  return transport.request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' },
    body: form.toString(),
  });
}

interface TokenResponse {
  token?: string;
  access_token?: string;
  expires_in?: number;
  issued_at?: string;
}

/** Reads a token service's JSON response. Throws AuthenticationError for a body that is too large or not a JSON object. */
async function readTokenResponse(response: HttpResponse, url: URL, scope: string): Promise<TokenResponse> {
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    // The registry client retries network errors, so they pass through unchanged.
    if (isNetworkError(error)) throw error;
    throw new AuthenticationError(`token service ${url.origin}${url.pathname} sent an invalid response for scope "${scope}": ${(error as Error).message}`, { cause: error });
  }
  if (typeof body !== 'object' || body === null) {
    throw new AuthenticationError(`token service ${url.origin}${url.pathname} sent a response for scope "${scope}" that is not a JSON object`);
  }
  return body as TokenResponse;
}

/** Reports whether a host name is loopback, where plain HTTP needs no opt-in. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
