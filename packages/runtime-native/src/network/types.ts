/**
 * Network attachment of a container, the `Network=` key of a unit. `bridge` gives it its own
 * namespace, a veth on the host bridge and an address. `host` keeps it in the host's namespace.
 * `none` gives it its own namespace with loopback only.
 */
export type ContainerNetworkMode = 'bridge' | 'host' | 'none';

/** One `PublishPort=` entry. Structurally the same as `PublishedPort` in @berth/unitfile. */
export interface PublishedPortSpec {
  /** Host IPv4 address to accept on; empty for every address of the host. */
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

/** Configuration of the networking of one host. */
export interface HostNetworkOptions {
  /** Directory that survives an agent restart; the address and port records live under it. */
  stateDir: string;
  /** Directory for namespace files and generated /etc files, normally on tmpfs (`/run/berth`). */
  runDir: string;
  /** Bridge device name, at most 15 characters. Default `berth0`. */
  bridgeName?: string;
  /** IPv4 subnet for containers on this host. Default `10.99.0.0/16`. */
  subnet?: string;
  /** Address of the bridge inside `subnet`, the containers' default gateway. Default: the first usable address. */
  gateway?: string;
  /** MTU of container interfaces. Default: the MTU of the device of the host's default route, else 1500. */
  mtu?: number;
  /** Name servers for containers' resolv.conf, replacing the host's. Default: the host's non-loopback servers. */
  dnsServers?: string[];
  /** The host's resolver file to start from. Default `/etc/resolv.conf`. */
  hostResolvConfPath?: string;
  /** The host's hosts file, used for `host` mode. Default `/etc/hosts`. */
  hostHostsPath?: string;
  /** How long to wait for another process holding the state lock. Default 10000 ms. */
  lockTimeoutMs?: number;
}

/** Network request of one container. */
export interface ContainerNetworkRequest {
  mode: ContainerNetworkMode;
  publishPorts?: PublishedPortSpec[];
  /** Hostname written to /etc/hostname and /etc/hosts. Default: derived from the container id. */
  hostname?: string;
}

/** Paths of generated files the runtime bind-mounts read-only over the container's own. */
export interface ContainerEtcFiles {
  hosts: string;
  hostname: string;
  resolvConf: string;
}

/** The result of `HostNetwork.setup`. */
export interface ContainerNetwork {
  containerId: string;
  mode: ContainerNetworkMode;
  /** Network namespace file to join (`linux.namespaces[].path`); absent in `host` mode. */
  netnsPath?: string;
  /** Container address without prefix length; `bridge` mode only. */
  address?: string;
  prefixLength?: number;
  /** Default gateway; `bridge` mode only. */
  gateway?: string;
  /** Host end of the veth pair; `bridge` mode only. */
  hostInterface?: string;
  publishPorts: PublishedPortSpec[];
  hostname: string;
  etcFiles: ContainerEtcFiles;
}

/** Steps of `setup`, in order, reported through `step` events. */
export type SetupStep = 'record' | 'bridge' | 'netns' | 'veth' | 'addresses' | 'rules' | 'etc-files';

/** Kinds of leftovers that garbage collection removes. */
export type CollectedResource = 'record' | 'veth' | 'netns' | 'rules' | 'etc-files';

/** Typed events a HostNetwork emits on the `event` channel; the library itself never logs. */
export type HostNetworkEvent =
  | { kind: 'step'; containerId: string; step: SetupStep }
  | { kind: 'collected'; containerId: string; resource: CollectedResource; name: string }
  | { kind: 'warning'; containerId?: string; message: string };
