/**
 * The table of agent settings. Each one can come from a flag (`--join-token`), the environment
 * (`BERTH_JOIN_TOKEN`) or the configuration file (`join_token`, `join-token` or `joinToken`), in that
 * order of precedence.
 */
export interface SettingDefinition {
  /** camelCase name used in JSON files and in messages. */
  name: string;
  /** Flag without dashes, also the INI key with `-` or `_`. */
  flag: string;
  /** Placeholder for the flag's value in help, empty for boolean flags. */
  valueName: string;
  description: string;
}

export const SETTINGS: SettingDefinition[] = [
  { name: 'schedulers', flag: 'schedulers', valueName: 'HOST:PORT,...', description: 'scheduler gRPC endpoints, tried in order; the next one is used when one fails' },
  { name: 'joinToken', flag: 'join-token', valueName: 'TOKEN', description: 'token the scheduler expects from joining agents' },
  { name: 'joinTokenFile', flag: 'join-token-file', valueName: 'PATH', description: 'file holding the join token (instead of join-token)' },
  { name: 'schedulerCaFile', flag: 'scheduler-ca-file', valueName: 'PATH', description: 'PEM CA certificate of the schedulers; when set the stream uses TLS (default: plain gRPC)' },
  { name: 'machineId', flag: 'machine-id', valueName: 'ID', description: 'machine id, 32 hex characters (default: /etc/machine-id, else generated once and kept in the state directory)' },
  { name: 'publicAddress', flag: 'public-address', valueName: 'ADDRESS', description: 'address other hosts reach this host at (default: first non-loopback IPv4 address)' },
  { name: 'metadata', flag: 'metadata', valueName: 'K=V,...', description: 'machine metadata for MachineMetadata= placement' },
  { name: 'cpus', flag: 'cpus', valueName: 'N', description: 'CPUs offered to units (default: detected CPUs minus reserved-cpus)' },
  { name: 'memory', flag: 'memory', valueName: 'SIZE', description: 'memory offered to units, such as 8G (default: detected memory minus reserved-memory)' },
  { name: 'reservedCpus', flag: 'reserved-cpus', valueName: 'N', description: 'CPUs kept back for the host when detecting capacity (default 0)' },
  { name: 'reservedMemory', flag: 'reserved-memory', valueName: 'SIZE', description: 'memory kept back for the host when detecting capacity (default 256M)' },
  { name: 'stateDir', flag: 'state-dir', valueName: 'DIR', description: 'persistent state: container records, logs, images (default /var/lib/berth)' },
  { name: 'runDir', flag: 'run-dir', valueName: 'DIR', description: 'runtime state cleared at boot: container bundles, control socket (default /run/berth)' },
  { name: 'bridgeName', flag: 'bridge-name', valueName: 'NAME', description: 'Linux bridge for containers in bridge mode (default berth0)' },
  { name: 'containerSubnet', flag: 'container-subnet', valueName: 'CIDR', description: 'IPv4 subnet for container addresses (default 10.231.0.0/16)' },
  { name: 'insecureRegistries', flag: 'insecure-registries', valueName: 'HOST:PORT,...', description: 'registries reached over plain HTTP' },
  { name: 'registryAuthFile', flag: 'registry-auth-file', valueName: 'PATH', description: 'registry credentials in Docker config.json form ({"auths": {"HOST": {"auth": BASE64}}})' },
  { name: 'logMaxBytes', flag: 'log-max-bytes', valueName: 'SIZE', description: 'size at which a unit log is rotated (default 10M)' },
  { name: 'logMaxFiles', flag: 'log-max-files', valueName: 'N', description: 'rotated files kept per unit besides the current one (default 3)' },
  { name: 'logLevel', flag: 'log-level', valueName: 'LEVEL', description: 'agent log level: trace, debug, info, warn, error (default info)' },
  { name: 'drain', flag: 'drain', valueName: '', description: 'on SIGTERM or SIGINT, stop every unit and tell the scheduler, instead of leaving containers running' },
];

/** `join-token` to `BERTH_JOIN_TOKEN`. */
export function environmentName(definition: SettingDefinition): string {
  return `BERTH_${definition.flag.replace(/-/g, '_').toUpperCase()}`;
}

/** Lower-case key without separators, so `join_token`, `join-token` and `joinToken` match. */
export function normalizeKey(key: string): string {
  return key.replace(/[-_]/g, '').toLowerCase();
}
