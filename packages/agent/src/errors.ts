/**
 * Failure kinds of the agent. Each class carries `retryable`: true when the same operation may
 * succeed later without anyone changing the configuration or the unit (a scheduler that is down,
 * a registry that timed out), false when a person has to act first.
 */
export abstract class AgentError extends Error {
  abstract readonly retryable: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration setting is missing or invalid; the message names the setting and its source. */
export class ConfigError extends AgentError {
  readonly retryable = false;

  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`invalid configuration setting "${setting}": ${message}`);
  }
}

/** The scheduler could not be reached or ended the stream. */
export class ConnectionError extends AgentError {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A command line with an unknown command or option, or an option without its value. */
export class UsageError extends AgentError {
  readonly retryable = false;
}

/** A unit's text or its `[Container]` section cannot be turned into a container. */
export class UnitSpecError extends AgentError {
  readonly retryable = false;

  constructor(
    readonly unit: string,
    message: string,
  ) {
    super(`unit "${unit}": ${message}`);
  }
}

/** A step that changes the host (pull, mount, create, start, stop, network) failed for a unit. */
export class UnitActionError extends AgentError {
  constructor(
    readonly unit: string,
    readonly action: string,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(`unit "${unit}": ${action} failed: ${message}`, options);
  }
}

/**
 * The image pull process could not be started, exited before it returned a result, or was stopped
 * with the agent. Retryable, because a new pull starts a new process.
 */
export class PullProcessError extends AgentError {
  readonly retryable = true;
}

/** An operation the agent does not support (yet); the message says what instead. */
export class NotSupportedError extends AgentError {
  readonly retryable = false;
}

/** A bug: an invariant of the agent itself does not hold. */
export class InternalError extends AgentError {
  readonly retryable = false;
}

/** Returns the message of any thrown value, for logs and reports. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** True when `error` is an AgentError marked retryable; unknown errors count as not retryable. */
export function isRetryable(error: unknown): boolean {
  return error instanceof AgentError && error.retryable;
}
