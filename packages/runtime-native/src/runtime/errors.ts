/** Base class of every runtime failure. `retryable` is true when repeating the call may help. */
export class RuntimeError extends Error {
  readonly retryable: boolean = false;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The OCI config.json is invalid or requests something this runtime does not support. */
export class InvalidSpecError extends RuntimeError {
  constructor(
    readonly bundle: string,
    readonly field: string,
    detail: string,
  ) {
    super(`invalid OCI config in bundle ${bundle}: ${field}: ${detail}`);
  }
}

/** An argument to the runtime API has the wrong type or format. */
export class InvalidArgumentError extends RuntimeError {}

/** No container with this id exists under the run directory. */
export class ContainerNotFoundError extends RuntimeError {
  constructor(
    readonly id: string,
    runDir: string,
  ) {
    super(`container "${id}" not found under ${runDir}`);
  }
}

/** A container with this id already exists. */
export class ContainerExistsError extends RuntimeError {
  constructor(readonly id: string) {
    super(`container "${id}" already exists; delete it first or choose another id`);
  }
}

/** The operation needs the container in another state (for example, start on a running one). */
export class ContainerStateError extends RuntimeError {
  constructor(
    readonly id: string,
    readonly status: string,
    operation: string,
  ) {
    super(`cannot ${operation} container "${id}": it is ${status}`);
  }
}

/**
 * A system call failed in the native helper or addon. `code` is the errno name (ENOENT, EPERM…)
 * and the message names the syscall and the path.
 */
export class NativeError extends RuntimeError {
  override readonly retryable: boolean;
  constructor(
    message: string,
    readonly code: string,
    readonly errno: number,
  ) {
    super(message);
    this.retryable = code === 'EAGAIN' || code === 'EINTR' || code === 'EBUSY';
  }
}

/** Wraps an error thrown by the addon into a NativeError with a context prefix. */
export function toNativeError(error: unknown, context: string): RuntimeError {
  if (error instanceof RuntimeError) return error;
  const e = error as { message?: string; code?: unknown; errno?: unknown };
  if (typeof e?.code === 'string' && typeof e.errno === 'number') {
    return new NativeError(`${context}: ${e.message}`, e.code, e.errno);
  }
  return new RuntimeError(`${context}: ${e?.message ?? String(error)}`);
}
