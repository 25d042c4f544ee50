import { Digest, parseDigest } from './digest';
import { InvalidReferenceError } from './errors';

/** A parsed image reference such as `127.0.0.1:5000/team/web:1.2@sha256:…`. */
export interface ImageReference {
  /** Registry as written, or `docker.io` for Docker Hub short forms. */
  registry: string;
  /** Repository path inside the registry, e.g. `library/busybox`. */
  repository: string;
  /** Tag; `latest` when neither tag nor digest was written. Absent for a digest-only reference. */
  tag?: string;
  /** Digest; when present it wins over the tag. */
  digest?: Digest;
}

export const DOCKER_HUB_REGISTRY = 'docker.io';
/** The host that actually serves Docker Hub's registry API. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';

const COMPONENT_PATTERN = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const HOST_PATTERN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;
const MAX_NAME_LENGTH = 255;

/**
 * Parses an image reference as users write it: `[registry[:port]/]repo[:tag][@digest]`.
 * A first component containing `.` or `:`, or `localhost`, is the registry; otherwise the image is on
 * Docker Hub and a single-component name gets `library/`. Throws InvalidReferenceError naming the
 * part that is wrong.
 */
export function parseReference(text: string): ImageReference {
  if (typeof text !== 'string' || text.length === 0) {
    throw new InvalidReferenceError('invalid image reference "": the reference is empty');
  }
  let rest = text;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const digestText = rest.slice(at + 1);
    try {
      digest = parseDigest(digestText, `image reference "${text}"`);
    } catch (error) {
      throw new InvalidReferenceError(`invalid image reference "${text}": digest "${digestText}" is not sha256:<64 hex> or sha512:<128 hex>`, { cause: error });
    }
    rest = rest.slice(0, at);
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_PATTERN.test(tag)) {
      throw new InvalidReferenceError(`invalid image reference "${text}": tag "${tag}" must match [A-Za-z0-9_][A-Za-z0-9._-]{0,127}`);
    }
  }

  const { registry, repository } = splitRegistry(rest, text);
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest ? { digest } : {}) };
}

function splitRegistry(name: string, text: string): { registry: string; repository: string } {
  const slash = name.indexOf('/');
  const first = slash >= 0 ? name.slice(0, slash) : '';
  const hasRegistry = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  let registry = DOCKER_HUB_REGISTRY;
  let repository = name;
  if (hasRegistry) {
    registry = first;
    repository = name.slice(slash + 1);
    if (!HOST_PATTERN.test(registry)) {
      throw new InvalidReferenceError(`invalid image reference "${text}": registry "${registry}" is not a host name or address with an optional port`);
    }
  }
  if (registry === DOCKER_HUB_REGISTRY && !repository.includes('/')) repository = `library/${repository}`;
  validateRepository(repository, text);
  return { registry, repository };
}

function validateRepository(repository: string, text: string): void {
  if (repository.length === 0) {
    throw new InvalidReferenceError(`invalid image reference "${text}": the repository name is empty`);
  }
  if (repository.length > MAX_NAME_LENGTH) {
    throw new InvalidReferenceError(`invalid image reference "${text}": the repository name is longer than ${MAX_NAME_LENGTH} characters`);
  }
  for (const component of repository.split('/')) {
    if (!COMPONENT_PATTERN.test(component)) {
      throw new InvalidReferenceError(
        `invalid image reference "${text}": repository component "${component}" must be lowercase letters and digits separated by ".", "_", "__" or "-"`,
      );
    }
  }
}

/** Formats a reference in its canonical full form, e.g. `docker.io/library/busybox:latest`. */
export function formatReference(reference: ImageReference): string {
  const tag = reference.tag !== undefined ? `:${reference.tag}` : '';
  const digest = reference.digest ? `@${reference.digest}` : '';
  return `${reference.registry}/${reference.repository}${tag}${digest}`;
}

/** Returns the host that serves the registry API for `registry`. */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB_REGISTRY ? DOCKER_HUB_API_HOST : registry;
}
