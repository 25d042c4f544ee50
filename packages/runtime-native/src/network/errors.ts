/**
 * Failures of host networking, one class per kind. `retryable` is true only where the same call
 * can succeed later without anyone changing the configuration or the host.
 */
export abstract class NetworkError extends Error {
  abstract readonly retryable: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A host command (`ip`, `nft`, `unshare`, `umount`) exited non-zero or could not start. */
export class NetworkCommandError extends NetworkError {
  readonly retryable = false;

  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly output: string,
    options?: { cause?: unknown },
  ) {
    super(`command failed: ${[command, ...args].join(' ')} (exit ${exitCode ?? 'none'}): ${output.trim() || 'no output'}`, options);
  }
}

/** A required host tool is missing from PATH. */
export class NetworkToolMissingError extends NetworkError {
  readonly retryable = false;

  constructor(readonly command: string) {
    super(`command not found: ${command}; install iproute2, nftables, conntrack and util-linux (scripts/install-deps.sh)`);
  }
}

/** Options or a request (container id, hostname, subnet, published port) are invalid. */
export class InvalidNetworkRequestError extends NetworkError {
  readonly retryable = false;
}

/** A requested combination is valid input but Berth does not implement it. */
export class NetworkNotSupportedError extends NetworkError {
  readonly retryable = false;
}

/** A host port requested by `PublishPort=` is already bound or published. */
export class PortInUseError extends NetworkError {
  // The holder is often a container that is still stopping on this host (the scheduler frees a
  // port as soon as it unassigns the unit), so the port is worth trying again.
  readonly retryable = true;

  constructor(
    readonly protocol: 'tcp' | 'udp',
    readonly hostPort: number,
    readonly holder: string,
  ) {
    super(`host port ${hostPort}/${protocol} is already in use by ${holder}; choose another port in PublishPort= or stop the holder`);
  }
}

/** Every address of the container subnet is allocated. */
export class AddressPoolExhaustedError extends NetworkError {
  readonly retryable = true;

  constructor(readonly subnet: string, readonly allocated: number) {
    super(`no free address in container subnet ${subnet} (${allocated} allocated); delete containers or configure a larger subnet`);
  }
}

/** A container already has networking set up; the caller must tear it down first. */
export class ContainerNetworkExistsError extends NetworkError {
  readonly retryable = false;

  constructor(readonly containerId: string) {
    super(`container ${containerId} already has networking set up; call teardown("${containerId}") before setting it up again`);
  }
}

/** The persisted network state file is unreadable or contradicts the configuration. */
export class NetworkStateError extends NetworkError {
  readonly retryable = false;
}

/** Another process held the network state lock for longer than the wait allowed. */
export class NetworkLockTimeoutError extends NetworkError {
  readonly retryable = true;

  constructor(readonly lockPath: string, readonly holderPid: number | undefined, readonly waitedMs: number) {
    super(`timed out after ${waitedMs} ms waiting for lock ${lockPath} held by pid ${holderPid ?? 'unknown'}; is another agent using the same state directory?`);
  }
}
