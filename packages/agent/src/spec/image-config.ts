/** The fields of an OCI image config (`config` object) that decide how a container starts. */
export interface ImageRunConfig {
  entrypoint?: string[];
  cmd?: string[];
  /** `KEY=value` entries. */
  env?: string[];
  workingDir?: string;
  user?: string;
}
