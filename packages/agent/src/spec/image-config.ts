/** The fields of an OCI image config (`config` object) that decide how a container starts. */
export interface ImageRunConfig {
  entrypoint?: string[];
  cmd?: string[];
  /** `KEY=value` entries. */
  env?: string[];
  workingDir?: string;
  user?: string;
}

/** Picks Entrypoint, Cmd, Env, WorkingDir and User from an image config, ignoring ill-typed values. */
export function runConfigOf(config: Record<string, unknown> | undefined): ImageRunConfig {
  const strings = (value: unknown) => (Array.isArray(value) && value.every((item) => typeof item === 'string') ? (value as string[]) : undefined);
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return {
    entrypoint: strings(config?.Entrypoint),
    cmd: strings(config?.Cmd),
    env: strings(config?.Env),
    workingDir: text(config?.WorkingDir),
    user: text(config?.User),
  };
}
