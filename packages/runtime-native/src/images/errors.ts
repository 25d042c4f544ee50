/**
 * The image package's failures, one class per kind. `retryable` informs a caller (the agent's retry
 * loop, the registry client's backoff) whether trying again later can succeed.
 */
export abstract class ImageError extends Error {
  abstract readonly retryable: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An image reference that does not parse; the message names the bad part. */
export class InvalidReferenceError extends ImageError {
  readonly retryable = false;
}

/** A registry responded with a client error (4xx other than 401/429) or a malformed document. */
export class RegistryError extends ImageError {
  readonly retryable: boolean;

  constructor(message: string, readonly status?: number, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, options);
    this.retryable = options?.retryable ?? false;
  }
}

/** The registry or its token service rejected our credentials, or none were configured. */
export class AuthenticationError extends ImageError {
  readonly retryable = false;
}

/** Content whose digest, size or declared type does not match its descriptor. */
export class DigestMismatchError extends ImageError {
  readonly retryable = false;
}

/** A network failure or 5xx/429 response that outlasted the retry budget. */
export class TransientRegistryError extends ImageError {
  readonly retryable = true;
}

/** A feature the image store knowingly does not implement (schema 1, encrypted layers, ...). */
export class NotSupportedError extends ImageError {
  readonly retryable = false;
}

/** No manifest in an index matches the requested platform; the message lists those available. */
export class PlatformMismatchError extends ImageError {
  readonly retryable = false;
}

/** A layer that tries to escape its snapshot or breaks the layer format: the whole layer is rejected. */
export class HostileLayerError extends ImageError {
  readonly retryable = false;
}

/** An image or blob that the store does not hold. */
export class ImageNotFoundError extends ImageError {
  readonly retryable = false;
}

/** The layer helper executable failed or is missing. */
export class LayerHelperError extends ImageError {
  readonly retryable = false;
}

/** A bug in this package: an invariant that should hold did not. */
export class InternalImageError extends ImageError {
  readonly retryable = false;
}
