/**
 * The part of the OCI runtime spec (runtime-spec 1.x `config.json`) the agent writes. Fields the
 * agent does not touch pass through from the runtime's default spec unchanged.
 */
export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly?: boolean };
  hostname?: string;
  mounts: OciMount[];
  annotations?: Record<string, string>;
  linux?: OciLinux;
  [extra: string]: unknown;
}

export interface OciProcess {
  terminal?: boolean;
  user: { uid: number; gid: number; additionalGids?: number[]; umask?: number };
  args: string[];
  env: string[];
  cwd: string;
  capabilities?: OciCapabilities;
  noNewPrivileges?: boolean;
  rlimits?: Array<{ type: string; hard: number; soft: number }>;
  [extra: string]: unknown;
}

export interface OciCapabilities {
  bounding?: string[];
  effective?: string[];
  permitted?: string[];
  inheritable?: string[];
  ambient?: string[];
}

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface OciNamespace {
  type: 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';
  path?: string;
}

export interface OciLinux {
  namespaces?: OciNamespace[];
  resources?: {
    memory?: { limit?: number; swap?: number; reservation?: number };
    cpu?: { quota?: number; period?: number; shares?: number };
    pids?: { limit: number };
    [extra: string]: unknown;
  };
  cgroupsPath?: string;
  [extra: string]: unknown;
}
