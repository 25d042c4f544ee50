import { Digest, digestOf } from './digest';
import { AuthenticationError, DigestMismatchError, ImageError, RegistryError, TransientRegistryError } from './errors';
import { defaultTransport, HttpResponse, HttpTransport } from './http-transport';
import {
  AuthChallenge, basicAuthorization, fetchBearerToken, isLoopbackHost, parseChallenges, readDockerConfigCredentials,
  RegistryCredentials, TokenCache,
} from './auth';
import { Descriptor, MANIFEST_ACCEPT } from './manifest';
import { apiHost, ImageReference } from './reference';
import { backoff, isNetworkError, isRetryableStatus, MAX_ATTEMPTS } from './retry';

export type { HttpTransport } from './http-transport';

/** Largest manifest or index accepted; real ones are a few KiB. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_REDIRECTS = 5;

/** Options shared by every request to registries. */
export interface RegistryClientOptions {
  /** Credentials per registry (as written in references, e.g. `127.0.0.1:5000`), from unit or agent config. */
  auth?: Record<string, RegistryCredentials>;
  /** Registries reached over plain http. Loopback registries always are. */
  insecureRegistries?: string[];
  /** Docker client config to read `auths` from; default `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. */
  dockerConfigPath?: string;
  /** HTTP client for registries and token services. The default is one NodeHttpTransport shared by the process. */
  transport?: HttpTransport;
  /** Token cache to share between clients, e.g. one per pull with different credentials. */
  tokenCache?: TokenCache;
}

/** A manifest or index as received: exact bytes, their digest and Content-Type. */
export interface FetchedManifest {
  bytes: Buffer;
  digest: Digest;
  contentType: string | null;
}

/**
 * Talks the OCI distribution protocol to registries: auth challenges, manifests, blobs with resume.
 * One instance is shared by all pulls so the token cache is shared too.
 */
export class RegistryClient {
  private readonly tokens: TokenCache;
  /** The last challenge per registry and scope, so later requests authenticate up front. */
  private readonly challenges = new Map<string, AuthChallenge>();
  private readonly transport: HttpTransport;

  constructor(private readonly options: RegistryClientOptions = {}) {
    this.transport = options.transport ?? defaultTransport;
    this.tokens = options.tokenCache ?? new TokenCache();
  }

  /** Returns the base URL (`https://host/v2/`) for a registry, honouring the insecure list. */
  baseUrl(registry: string): string {
    const host = apiHost(registry);
    const hostname = host.replace(/:\d+$/, '');
    const insecure = isLoopbackHost(hostname) || (this.options.insecureRegistries ?? []).includes(registry);
    return `${insecure ? 'http' : 'https'}://${host}/v2/`;
  }

  /**
   * Fetches a manifest by tag or digest, reading at most MAX_MANIFEST_BYTES, and checks its digest:
   * equal to the requested digest, or to `Docker-Content-Digest` when pulling by tag. Throws
   * DigestMismatchError with both digests, RegistryError for 4xx (404 names the reference).
   */
  async fetchManifest(reference: ImageReference, tagOrDigest: string): Promise<FetchedManifest> {
    const url = `${this.baseUrl(reference.registry)}${reference.repository}/manifests/${tagOrDigest}`;
    const response = await this.request(reference, url, { accept: MANIFEST_ACCEPT.join(', ') });
    const where = `manifest ${reference.registry}/${reference.repository}:${tagOrDigest}`;
    if (!response.ok) throw await statusError(response, where);
    const bytes = await readLimited(response, MAX_MANIFEST_BYTES, where);
    const expected = tagOrDigest.includes(':') ? (tagOrDigest as Digest) : undefined;
    const digest = digestOf(bytes, expected ?? ('sha256:' as Digest));
    if (expected && digest !== expected) {
      throw new DigestMismatchError(`${where}: digest mismatch, requested ${expected} but the registry sent content hashing to ${digest}`);
    }
    const headerDigest = response.headers.get('docker-content-digest');
    if (!expected && headerDigest && headerDigest.startsWith('sha256:') && headerDigest !== digest) {
      throw new DigestMismatchError(`${where}: digest mismatch, Docker-Content-Digest is ${headerDigest} but the content hashes to ${digest}`);
    }
    return { bytes, digest, contentType: response.headers.get('content-type') };
  }

  /** Fetches a small blob (a config) into memory, verifying size and digest. */
  async fetchSmallBlob(reference: ImageReference, descriptor: Descriptor, maxBytes: number): Promise<Buffer> {
    const where = `blob ${descriptor.digest} of ${reference.registry}/${reference.repository}`;
    if (descriptor.size > maxBytes) throw new RegistryError(`${where}: size ${descriptor.size} exceeds the limit of ${maxBytes} bytes`);
    const chunks: Buffer[] = [];
    for await (const chunk of this.blobChunks(reference, descriptor, 0)) chunks.push(chunk);
    const bytes = Buffer.concat(chunks);
    const actual = digestOf(bytes, descriptor.digest);
    if (actual !== descriptor.digest) {
      throw new DigestMismatchError(`${where}: digest mismatch, expected ${descriptor.digest} but the content hashes to ${actual}`);
    }
    return bytes;
  }

  /**
   * Streams a blob's bytes from `offset`, never more than `descriptor.size` in total. A connection
   * reset resumes with `Range: bytes=N-`; a registry that ignores Range (200) is skipped forward.
   * The caller hashes the bytes. Throws TransientRegistryError once the retry budget is spent and
   * DigestMismatchError when the registry sends more or fewer bytes than the descriptor declares.
   */
  async *blobChunks(reference: ImageReference, descriptor: Descriptor, offset: number): AsyncGenerator<Buffer> {
    const url = `${this.baseUrl(reference.registry)}${reference.repository}/blobs/${descriptor.digest}`;
    const where = `blob ${descriptor.digest} of ${reference.registry}/${reference.repository}`;
    let position = offset;
    let failures = 0;
    for (;;) {
      if (position === descriptor.size && descriptor.size > 0) return;
      const response = await this.request(reference, url, position > 0 ? { range: `bytes=${position}-` } : {});
      if (!response.ok) throw await statusError(response, where);
      let skipBytes = response.status === 206 ? rangeStart(response, position, where) : position;
      const reader = response.body[Symbol.asyncIterator]();
      let finished = false;
      try {
        for (;;) {
          let next: IteratorResult<Buffer>;
          try {
            next = await reader.next();
          } catch (error) {
            if (!isNetworkError(error)) throw error;
            failures++;
            if (failures >= MAX_ATTEMPTS) throw new TransientRegistryError(`${where}: download failed ${failures} times at byte ${position}: ${(error as Error).message}`, { cause: error });
            await backoff(failures);
            break;
          }
          if (next.done) {
            finished = true;
            if (position !== descriptor.size) {
              throw new DigestMismatchError(`${where}: the registry sent ${position} bytes but the descriptor declares ${descriptor.size}`);
            }
            return;
          }
          let chunk = next.value;
          if (skipBytes > 0) {
            const dropped = Math.min(skipBytes, chunk.length);
            chunk = chunk.subarray(dropped);
            skipBytes -= dropped;
            if (chunk.length === 0) continue;
          }
          if (position + chunk.length > descriptor.size) {
            throw new DigestMismatchError(`${where}: the registry sent more than the ${descriptor.size} bytes the descriptor declares`);
          }
          position += chunk.length;
          yield chunk;
        }
      } finally {
        // A consumer that stops early, or an error above, leaves the body half-read.
        if (!finished) response.cancel();
      }
    }
  }

  /**
   * Sends one GET with authentication, manual redirects and retries. Authorization is sent only to
   * the registry itself: a redirect to another host (blob storage) goes without it.
   */
  private async request(reference: ImageReference, url: string, headers: Record<string, string>): Promise<HttpResponse> {
    const scope = `repository:${reference.repository}:pull`;
    let triedChallenge = false;
    for (let attempt = 1; ; attempt++) {
      let response: HttpResponse;
      try {
        const authorization = await this.authorizationFor(reference.registry, scope);
        response = await this.followRedirects(url, headers, authorization);
      } catch (error) {
        if (!isNetworkError(error) || attempt >= MAX_ATTEMPTS) throw wrapNetworkError(error, url, attempt);
        await backoff(attempt);
        continue;
      }
      if (response.status === 401 && !triedChallenge) {
        triedChallenge = true;
        response.cancel();
        this.rememberChallenge(reference.registry, scope, response, url);
        continue;
      }
      if (isRetryableStatus(response.status) && attempt < MAX_ATTEMPTS) {
        response.cancel();
        await backoff(attempt);
        continue;
      }
      return response;
    }
  }

  private async followRedirects(url: string, headers: Record<string, string>, authorization: string | undefined): Promise<HttpResponse> {
    const origin = new URL(url).origin;
    let current = url;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const sameOrigin = new URL(current).origin === origin;
      const response = await this.transport.request(current, {
        headers: { ...headers, ...(authorization && sameOrigin ? { authorization } : {}) },
      });
      const location = response.headers.get('location');
      if (response.status < 300 || response.status > 399 || !location) return response;
      response.cancel();
      current = new URL(location, current).toString();
    }
    throw new RegistryError(`${url}: more than ${MAX_REDIRECTS} redirects`);
  }

  private rememberChallenge(registry: string, scope: string, response: HttpResponse, url: string): void {
    const header = response.headers.get('www-authenticate') ?? '';
    const challenge = parseChallenges(header).find((candidate) => candidate.scheme === 'bearer' || candidate.scheme === 'basic');
    if (!challenge) {
      throw new AuthenticationError(`${url}: the registry responded 401 without a Basic or Bearer challenge; cannot authenticate`);
    }
    this.challenges.set(`${registry}\n${scope}`, challenge);
  }

  private async authorizationFor(registry: string, scope: string): Promise<string | undefined> {
    const challenge = this.challenges.get(`${registry}\n${scope}`);
    if (!challenge) return undefined;
    const credentials = this.credentialsFor(registry);
    if (challenge.scheme === 'basic') {
      if (!credentials) throw new AuthenticationError(`registry ${registry} requires Basic authentication and no credentials are configured for it (agent config or ~/.docker/config.json)`);
      return basicAuthorization(credentials);
    }
    const scopeToUse = challenge.params.scope && challenge.params.scope.includes(':pull') ? challenge.params.scope : scope;
    return `Bearer ${await fetchBearerToken(challenge.params, scopeToUse, credentials, this.tokens, this.transport)}`;
  }

  private credentialsFor(registry: string): RegistryCredentials | undefined {
    return this.options.auth?.[registry] ?? readDockerConfigCredentials(registry, this.options.dockerConfigPath);
  }
}

function rangeStart(response: HttpResponse, position: number, where: string): number {
  const match = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '');
  if (!match || Number(match[1]) !== position) {
    throw new RegistryError(`${where}: asked for bytes from ${position} but the registry responded with Content-Range "${response.headers.get('content-range')}"`);
  }
  return 0;
}

async function readLimited(response: HttpResponse, maxBytes: number, where: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body) {
      total += chunk.length;
      if (total > maxBytes) {
        response.cancel();
        throw new RegistryError(`${where}: the document is larger than ${maxBytes} bytes`);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (!isNetworkError(error)) throw error;
    throw new TransientRegistryError(`${where}: reading the response failed after ${total} bytes: ${(error as Error).message}`, { cause: error });
  }
  return Buffer.concat(chunks);
}

async function statusError(response: HttpResponse, where: string): Promise<Error> {
  let detail = '';
  try {
    const body = (await response.json()) as { errors?: { code?: string; message?: string }[] };
    detail = (body.errors ?? []).map((error) => `${error.code ?? ''} ${error.message ?? ''}`.trim()).join('; ');
  } catch {
    // The body is optional and often not JSON; the status alone still explains the failure.
  }
  const suffix = detail ? ` (${detail})` : '';
  if (response.status === 401 || response.status === 403) {
    return new AuthenticationError(`${where}: the registry responded ${response.status}${suffix}; check the credentials for this registry`);
  }
  if (response.status === 429 || isRetryableStatus(response.status)) {
    return new TransientRegistryError(`${where}: the registry responded ${response.status}${suffix}; try again later`);
  }
  if (response.status === 404) return new RegistryError(`${where}: not found (404)${suffix}`, 404);
  return new RegistryError(`${where}: the registry responded ${response.status}${suffix}`, response.status);
}

/**
 * Turns a failed request into an ImageError: TransientRegistryError for network errors,
 * RegistryError for the rest (TLS verification, malformed responses). ImageErrors pass unchanged.
 */
function wrapNetworkError(error: unknown, url: string, attempts: number): Error {
  if (error instanceof ImageError) return error;
  const origin = new URL(url).origin;
  const message = (error as Error).message;
  if (isNetworkError(error)) {
    return new TransientRegistryError(`${origin}: request failed after ${attempts} attempts: ${message}`, { cause: error });
  }
  const code = (error as { code?: string }).code ?? '';
  const hint = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)
    ? '; check the registry\'s certificate, add a private CA with NODE_EXTRA_CA_CERTS, or list the registry in insecureRegistries if it serves plain http'
    : '';
  return new RegistryError(`${origin}: request failed: ${message}${code ? ` (${code})` : ''}${hint}`, undefined, { cause: error });
}
