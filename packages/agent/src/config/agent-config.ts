/** Registry credentials for one host, from the registry auth file. */
export interface RegistryCredential {
  username: string;
  password: string;
}

/** The validated configuration the agent runs with. */
export interface AgentConfig {
  schedulers: string[];
  joinToken: string;
  /** PEM text of the CA that signs the schedulers' certificates; undefined means plain gRPC. */
  schedulerCa?: string;
  machineId: string;
  publicAddress: string;
  metadata: Record<string, string>;
  capacity: { cpus: number; memoryBytes: number };
  stateDir: string;
  runDir: string;
  bridgeName: string;
  containerSubnet: string;
  insecureRegistries: string[];
  /** Registry host (`HOST:PORT` or `HOST`) to credentials. */
  registryCredentials: Record<string, RegistryCredential>;
  logMaxBytes: number;
  logMaxFiles: number;
  logLevel: string;
  drainOnShutdown: boolean;
}

export const DEFAULT_STATE_DIR = '/var/lib/berth';
export const DEFAULT_RUN_DIR = '/run/berth';
export const DEFAULT_BRIDGE_NAME = 'berth0';
export const DEFAULT_CONTAINER_SUBNET = '10.231.0.0/16';
export const DEFAULT_RESERVED_MEMORY_BYTES = 256 * 1024 * 1024;
export const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024;
export const DEFAULT_LOG_MAX_FILES = 3;
