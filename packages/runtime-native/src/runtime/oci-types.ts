/** The subset of the OCI runtime spec (config.json, version 1.x) that Berth reads. */
export interface OciSpec {
  ociVersion: string;
  process?: OciProcess;
  root?: { path: string; readonly?: boolean };
  hostname?: string;
  mounts?: OciMount[];
  annotations?: Record<string, string>;
  linux?: OciLinux;
}

export interface OciProcess {
  terminal?: boolean;
  user?: { uid: number; gid: number; umask?: number; additionalGids?: number[] };
  args?: string[];
  env?: string[];
  cwd: string;
  capabilities?: Partial<Record<'bounding' | 'effective' | 'permitted' | 'inheritable' | 'ambient', string[]>>;
  rlimits?: { type: string; soft: number; hard: number }[];
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
}

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface OciIdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface OciDevice {
  type: string;
  path: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface OciDeviceRule {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access?: string;
}

export interface OciResources {
  devices?: OciDeviceRule[];
  memory?: { limit?: number; reservation?: number; swap?: number };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  pids?: { limit: number };
  unified?: Record<string, string>;
}

export interface OciSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  syscalls?: { names: string[]; action: string; errnoRet?: number; args?: OciSeccompArg[] }[];
}

export interface OciLinux {
  namespaces?: { type: string; path?: string }[];
  uidMappings?: OciIdMapping[];
  gidMappings?: OciIdMapping[];
  devices?: OciDevice[];
  cgroupsPath?: string;
  resources?: OciResources;
  rootfsPropagation?: string;
  seccomp?: OciSeccomp;
  sysctl?: Record<string, string>;
  maskedPaths?: string[];
  readonlyPaths?: string[];
}

/** The OCI state document (`state` operation), plus Berth's exit record. */
export interface ContainerState {
  ociVersion: string;
  id: string;
  status: 'creating' | 'created' | 'running' | 'stopped';
  pid?: number;
  bundle: string;
  annotations: Record<string, string>;
  /** Exit code (128 + signal for a signal death) once stopped, if the monitor recorded it. */
  exitCode?: number;
  /** Terminating signal number, 0 if the process exited normally. */
  exitSignal?: number;
  /** Whether the memory cgroup recorded an OOM kill. */
  oomKilled?: boolean;
  /** Creation time as an ISO 8601 string. */
  created: string;
}
