/**
 * The failure kinds berthctl reports. Each one carries the process exit status it maps to, so
 * commands throw and only the entry point decides how the process ends.
 */

/** Process exit statuses, documented in docs/cli.md. */
export const ExitCode = {
  ok: 0,
  /** A command failed or a unit did not reach the requested state. */
  failure: 1,
  /** The command line was invalid. */
  usage: 2,
  /** No scheduler endpoint could be reached. */
  unreachable: 3,
} as const;

export type ExitStatus = (typeof ExitCode)[keyof typeof ExitCode];

/** Base class of every error berthctl reports to the user without a stack trace. */
export class CliError extends Error {
  /** True when running the same command again may succeed without changing anything. */
  readonly retryable: boolean = false;
  readonly exitCode: ExitStatus = ExitCode.failure;
}

/** An invalid command line: an unknown flag, a missing argument, a malformed value. */
export class UsageError extends CliError {
  override readonly exitCode = ExitCode.usage;
}

/** No scheduler endpoint accepted the connection or responded in time. */
export class UnreachableError extends CliError {
  override readonly retryable = true;
  override readonly exitCode = ExitCode.unreachable;
}

/** The scheduler returned an error body (`{ "error": { code, message, details } }`). */
export class ApiError extends CliError {
  override readonly retryable: boolean;

  constructor(
    message: string,
    /** HTTP status of the response. */
    readonly status: number,
    /** The API's error code, such as `not_found` or `conflict`. */
    readonly code: string,
    readonly details: Record<string, unknown>,
  ) {
    super(message);
    this.retryable = code === 'unavailable';
  }
}

/** The scheduler returned something that is not the JSON the API describes. */
export class ProtocolError extends CliError {}

/** A unit file could not be read or is invalid. */
export class UnitFileError extends CliError {}

/** A unit did not reach the requested state within the wait. */
export class UnitStateError extends CliError {
  override readonly retryable = true;
}

/**
 * Some of several units or files failed and each failure has already been printed, so the
 * message is usually empty. `exitCode` is the most severe status among the failures.
 */
export class PartialFailureError extends CliError {
  override readonly exitCode: ExitStatus;

  constructor(message = '', exitCode: ExitStatus = ExitCode.failure) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** A unit or machine named on the command line does not exist in the cluster. */
export class NotFoundError extends CliError {}
