/**
 * Failures thrown by the unit-file library. Problems inside a unit file are reported as
 * diagnostics and never thrown. These classes cover the value parsers that callers use directly
 * (durations, sizes, command lines) and internal faults.
 */

/** Base class of every error this library throws. */
export abstract class UnitFileError extends Error {
  /** True when repeating the same call could succeed; parsing the same input never does. */
  abstract readonly retryable: boolean;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A value such as `90s`, `512M` or a command line that does not follow its syntax. */
export class InvalidValueError extends UnitFileError {
  readonly retryable = false;

  /**
   * @param kind what the value should have been, for example `duration`
   * @param value the rejected text
   * @param reason what is wrong and how to write it instead
   */
  constructor(
    readonly kind: string,
    readonly value: string,
    readonly reason: string,
  ) {
    super(`invalid ${kind} "${value}": ${reason}`);
  }
}

/** A bug in this library: an invariant that the code itself should have kept. */
export class InternalError extends UnitFileError {
  readonly retryable = false;
}
