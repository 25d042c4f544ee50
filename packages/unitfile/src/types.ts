/**
 * Public types of the unit-file library. The scheduler, the agent and berthctl depend on these
 * shapes, so changes here are interface changes for every package.
 */

export type Severity = 'error' | 'warning';

/** One problem found in a unit file, printed as `file:line:column: severity: message`. */
export interface Diagnostic {
  file: string;
  /** 1-based physical line; 0 when the problem concerns the whole file. */
  line: number;
  /** 1-based column; 1 when the problem concerns the whole line. */
  column: number;
  severity: Severity;
  message: string;
}

/** One `Key=value` assignment, in file order. Repeated keys stay separate entries. */
export interface UnitOption {
  section: string;
  name: string;
  value: string;
  /** 1-based physical line where the assignment starts. */
  line: number;
  /** 1-based column of the key on that line; absent for options that did not come from a file. */
  column?: number;
  /** 1-based column where the value starts on that line; absent as for `column`. */
  valueColumn?: number;
}

/** A `[Section]` header as written, including sections that hold no options. */
export interface UnitSection {
  name: string;
  /** 1-based physical line of the header. */
  line: number;
}

/** Parsed text of a unit file: its options in order, before any interpretation. */
export interface UnitFileDocument {
  options: UnitOption[];
  /** Headers in file order; absent for documents built from options alone. */
  sections?: UnitSection[];
}

/** Parts of a unit name such as `web@1.service`. */
export interface UnitNameInfo {
  /** The full name, `web@1.service`. */
  name: string;
  /** Text before the first `@`, or the whole base name without `@`: `web`. */
  prefix: string;
  /** Text between the first `@` and the last `.`; empty for templates and plain units. */
  instance: string;
  /** Suffix after the last dot, without the dot: `service`. */
  suffix: string;
  /** True for `name@.service`. */
  isTemplate: boolean;
  /** True for `name@inst.service`. */
  isInstance: boolean;
  /** `web@.service` for templates and instances, otherwise empty. */
  template: string;
}

/** fleet's scheduling options from `[X-Fleet]`, after specifier expansion. */
export interface FleetRequirements {
  /** Full machine id or an 8-character prefix. */
  machineId?: string;
  /** Exact names of units this one must share a machine with (all of them). */
  machineOf: string[];
  /** Key to allowed values: same key = OR, different keys = AND. */
  machineMetadata: Record<string, string[]>;
  /** Glob patterns (Go `path.Match` syntax) of unit names this one must not share a machine with. */
  conflicts: string[];
  global: boolean;
  /** Glob patterns of units this one displaces from its machine. */
  replaces: string[];
}

export type NetworkMode = 'bridge' | 'host' | 'none';

export interface PublishedPort {
  /** Host address to bind, empty for every address. */
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

export interface VolumeMount {
  source: string;
  destination: string;
  readOnly: boolean;
}

/** What runs: the `[Container]` section, with systemd resource keys folded in. */
export interface ContainerSpec {
  image: string;
  /** Command arguments (`Exec=`), split with systemd's quoting rules; empty means the image's Cmd. */
  exec: string[];
  /** Replaces the image's entrypoint when set. */
  entrypoint?: string[];
  environment: Record<string, string>;
  environmentFiles: string[];
  workingDir?: string;
  /** `uid`, `uid:gid`, `name` or `name:group`, resolved by the agent against the image. */
  user?: string;
  publishPorts: PublishedPort[];
  volumes: VolumeMount[];
  network: NetworkMode;
  /** Bytes; undefined means no limit. */
  memoryBytes?: number;
  /** CPU count as a decimal (`1.5`); undefined means no limit. */
  cpus?: number;
  pidsLimit?: number;
  readOnly: boolean;
  /**
   * Runs a minimal init as PID 1 that forwards signals to the command and reaps zombies, like
   * Docker's `--init`; undefined means no init.
   */
  init?: boolean;
  addCapabilities: string[];
  dropCapabilities: string[];
  health?: HealthCheck;
}

export interface HealthCheck {
  kind: 'cmd' | 'http' | 'tcp';
  /**
   * Command arguments for `cmd`. For `http`, one entry `host:port/path`, with an empty host
   * (`:8080/healthz`) when the probe should use the container's own address. For `tcp`, the port
   * (`5432`) or `host:port`.
   */
  target: string[];
  /** For `http` and `tcp`: host to probe; empty for the container's own address. */
  host?: string;
  /** For `http` and `tcp`: port to probe. */
  port?: number;
  /** For `http`: request path starting with `/`. */
  path?: string;
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

export type RestartPolicy = 'no' | 'on-failure' | 'always';

/** The `[Service]` keys Berth interprets. */
export interface ServiceSpec {
  restart: RestartPolicy;
  restartSecMs: number;
  timeoutStopSecMs: number;
  startLimitBurst: number;
  startLimitIntervalMs: number;
}

/** A fully interpreted unit: what the scheduler places and the agent runs. */
export interface Unit {
  name: string;
  nameInfo: UnitNameInfo;
  /** The unit file text exactly as submitted. */
  text: string;
  /** Hex SHA-1 of the normalized options (comments, blank lines and spacing around `=` excluded). */
  hash: string;
  description: string;
  fleet: FleetRequirements;
  /** Undefined for units without a `[Container]` section (templates may still carry one). */
  container?: ContainerSpec;
  service: ServiceSpec;
  document: UnitFileDocument;
}

export interface LoadResult {
  /** Undefined when there are errors. */
  unit?: Unit;
  diagnostics: Diagnostic[];
}
