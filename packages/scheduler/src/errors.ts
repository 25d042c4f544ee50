/**
 * Failure kinds of the scheduler. Each maps to one HTTP error code of docs/api.md and one gRPC
 * status. `retryable` is true when trying again later can succeed.
 */
export type ApiErrorCode = 'invalid_argument' | 'unauthorized' | 'not_found' | 'conflict' | 'unavailable' | 'internal';

/** Base class of every scheduler error. */
export abstract class SchedulerError extends Error {
  abstract readonly code: ApiErrorCode;
  abstract readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.details = details;
  }
}

/** A request, a unit file or an agent message is invalid; `details.diagnostics` lists problems. */
export class InvalidArgumentError extends SchedulerError {
  readonly code = 'invalid_argument' as const;
  readonly retryable = false;
}

/** A missing or wrong API or join token. The message never contains the token. */
export class UnauthorizedError extends SchedulerError {
  readonly code = 'unauthorized' as const;
  readonly retryable = false;
}

/** No such unit, template or machine. */
export class NotFoundError extends SchedulerError {
  readonly code = 'not_found' as const;
  readonly retryable = false;
}

/** The request clashes with stored state (other unit content, a machine id already connected). */
export class ConflictError extends SchedulerError {
  readonly code = 'conflict' as const;
  readonly retryable = false;
}

/** etcd cannot be reached or timed out; retrying is safe. */
export class EtcdUnavailableError extends SchedulerError {
  readonly code = 'unavailable' as const;
  readonly retryable = true;
}

/**
 * A fenced write failed because this replica is no longer the leader (its election key changed).
 * Not retryable by this replica: the new leader redoes the work.
 */
export class NotLeaderError extends SchedulerError {
  readonly code = 'unavailable' as const;
  readonly retryable = false;
}

/** A bug; the message names what failed. */
export class InternalError extends SchedulerError {
  readonly code = 'internal' as const;
  readonly retryable = false;
}

/** Wraps any error into a SchedulerError, treating etcd client failures as unavailable. */
export function toSchedulerError(error: unknown, operation: string): SchedulerError {
  if (error instanceof SchedulerError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (isEtcdFailure(error)) {
    return new EtcdUnavailableError(`${operation} failed: etcd is unavailable (${message})`, {}, { cause: error });
  }
  return new InternalError(`${operation} failed: ${message}`, {}, { cause: error });
}

function isEtcdFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  // etcd3 names its error classes after gRPC failures (GRPCUnavailableError, GRPCDeadlineExceededError...).
  const name = error.constructor?.name ?? '';
  return name.startsWith('GRPC') || name.startsWith('Etcd') || /ECONNREFUSED|UNAVAILABLE|deadline/i.test(error.message);
}
