import { EventEmitter } from 'node:events';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { forgetContainerFlows, forgetUdpPortFlows } from './conntrack';
import { etcFilePaths, readHostResolvConf, removeEtcFiles, renderEtcFiles, writeEtcFiles } from './etc-files';
import { ContainerNetworkExistsError, InvalidNetworkRequestError } from './errors';
import { FileLock } from './file-lock';
import { allocateAddress, resolveGateway } from './ipam';
import { Ipv4Cidr, parseCidr } from './ipv4';
import {
  checkSubnetIsFree, configureContainerInterface, createVeth, defaultRouteMtu, deleteLink, ensureBridge,
  hostInterfaceName, listOwnedVeths, ownerOfLink, removeBridge,
} from './links';
import { createNetns, listNetnsFiles, removeNetns } from './netns';
import { ContainerRecord, loadNetworkState, NetworkStateFile, saveNetworkState, stateFilePath } from './network-state';
import { applyNftScript, bridgeChains, listBerthTable, removeBridgeRules, renderBridgeRules } from './nft-rules';
import { checkPortsAreFree } from './port-conflicts';
import {
  CollectedResource, ContainerNetwork, ContainerNetworkRequest, HostNetworkEvent, HostNetworkOptions, SetupStep,
} from './types';
import {
  hostnameFromContainerId, validateBridgeName, validateContainerId, validateHostname, validateMode, validatePublishPorts,
} from './validation';

export const DEFAULT_BRIDGE_NAME = 'berth0';
export const DEFAULT_CONTAINER_SUBNET = '10.99.0.0/16';
const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
const MIN_MTU = 576;
const MAX_MTU = 65535;

/** Container ids whose leftovers one garbage collection removed, by kind of resource. */
export interface GarbageCollectionReport {
  records: string[];
  /** Containers whose published-port rules were removed. */
  rules: string[];
  veths: string[];
  netnsFiles: string[];
  etcDirs: string[];
}

/**
 * Networking of the containers of one host: a bridge, one namespace and veth pair per container,
 * addresses from a persisted pool, published ports and outbound masquerade in Berth's own nft
 * table, and the /etc files that name the container. All operations of one instance run one at a
 * time, under a lock file in the state directory that also excludes other processes.
 *
 * Emits `event` with a HostNetworkEvent for each setup step, each collected leftover and each
 * warning; it never logs.
 */
export class HostNetwork extends EventEmitter {
  readonly bridgeName: string;
  readonly subnet: Ipv4Cidr;
  readonly gateway: string;
  private readonly options: HostNetworkOptions;
  private readonly lock: FileLock;
  private readonly statePath: string;
  private mtu: number | undefined;

  /** Validates the configuration. Throws InvalidNetworkRequestError on a bad bridge name, subnet, gateway or MTU. */
  constructor(options: HostNetworkOptions) {
    super();
    this.options = options;
    this.bridgeName = options.bridgeName ?? DEFAULT_BRIDGE_NAME;
    validateBridgeName(this.bridgeName);
    this.subnet = parseCidr(options.subnet ?? DEFAULT_CONTAINER_SUBNET);
    this.gateway = resolveGateway(this.subnet, options.gateway);
    if (options.mtu !== undefined && (!Number.isInteger(options.mtu) || options.mtu < MIN_MTU || options.mtu > MAX_MTU)) {
      throw new InvalidNetworkRequestError(`invalid mtu ${options.mtu}: expected an integer from ${MIN_MTU} to ${MAX_MTU}`);
    }
    this.mtu = options.mtu;
    this.statePath = stateFilePath(options.stateDir, this.bridgeName);
    mkdirSync(join(options.stateDir, 'network'), { recursive: true, mode: 0o700 });
    this.lock = new FileLock(`${this.statePath}.lock`, options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
  }

  override on(event: 'event', listener: (event: HostNetworkEvent) => void): this {
    return super.on(event, listener);
  }

  /**
   * Sets up networking for a container before its process starts. The returned netnsPath is the
   * namespace to join, and etcFiles are the files to bind-mount at /etc/hosts, /etc/hostname and
   * /etc/resolv.conf. On failure everything created so far is removed again.
   * Throws InvalidNetworkRequestError, ContainerNetworkExistsError, PortInUseError,
   * AddressPoolExhaustedError, NetworkCommandError or NetworkLockTimeoutError.
   */
  async setup(containerId: string, request: ContainerNetworkRequest): Promise<ContainerNetwork> {
    validateContainerId(containerId);
    validateMode(request.mode);
    const hostname = request.hostname ?? hostnameFromContainerId(containerId);
    validateHostname(hostname);
    const publishPorts = request.publishPorts ?? [];
    validatePublishPorts(publishPorts);
    if (request.mode !== 'bridge' && publishPorts.length > 0) {
      throw new InvalidNetworkRequestError(
        `container ${containerId}: PublishPort= needs Network=bridge; with Network=${request.mode} there is no container address to forward to`,
      );
    }

    return this.lock.withLock(async () => {
      const state = this.loadState();
      if (state.containers[containerId] !== undefined) throw new ContainerNetworkExistsError(containerId);
      if (request.mode === 'bridge') {
        await checkPortsAreFree(publishPorts, { containerId, bridgeName: this.bridgeName, records: Object.values(state.containers) });
      }

      const record = this.newRecord(state, containerId, request.mode, hostname, publishPorts);
      state.containers[containerId] = record;
      saveNetworkState(this.statePath, state);
      this.emitStep(containerId, 'record');

      try {
        return await this.build(state, record);
      } catch (error) {
        // The setup error is the one to report. A failed rollback keeps the record, so garbage
        // collection or a teardown finishes it later.
        await this.release(state, record).catch((rollbackError: unknown) => {
          this.emitWarning(containerId, `cleanup after failed setup is incomplete: ${String(rollbackError)}`);
        });
        saveNetworkState(this.statePath, state);
        throw error;
      }
    });
  }

  /**
   * Removes everything set up for a container: its rules, veth pair, namespace file, /etc files
   * and address record. Safe to call again, and for a container that has no record; a veth whose
   * alias names this container is removed even without a record.
   * Throws NetworkCommandError or NetworkLockTimeoutError; the record stays when removal fails, so a retry or GC finishes it.
   */
  async teardown(containerId: string): Promise<void> {
    validateContainerId(containerId);
    return this.lock.withLock(async () => {
      const state = this.loadState();
      const record = state.containers[containerId] ?? this.recordFromMarks(containerId);
      await this.release(state, record);
      saveNetworkState(this.statePath, state);
    });
  }

  /**
   * Removes what belongs to no live container, typically at agent start after a crash: records,
   * veths whose alias names a dead container, namespace files and /etc directories under runDir,
   * and rules (re-rendered from the remaining records). Only resources carrying a mark (state
   * record, interface alias, or a file under this instance's runDir named by container id) are
   * removed. A record whose removal fails stays, with a `warning` event, and the others are
   * still collected. Throws NetworkCommandError or NetworkLockTimeoutError for failures outside
   * one record.
   */
  async collectGarbage(liveContainerIds: Iterable<string>): Promise<GarbageCollectionReport> {
    const live = new Set(liveContainerIds);
    return this.lock.withLock(async () => {
      const state = this.loadState();
      const report: GarbageCollectionReport = { records: [], rules: [], veths: [], netnsFiles: [], etcDirs: [] };

      for (const record of Object.values(state.containers)) {
        if (live.has(record.containerId)) continue;
        try {
          await this.release(state, record);
        } catch (error) {
          // One stuck container must not keep the others' leftovers; its record stays for the next run.
          this.emitWarning(record.containerId, `garbage collection failed, will retry at the next collection: ${String(error)}`);
          continue;
        }
        report.records.push(record.containerId);
        this.emitCollected(record.containerId, 'record', this.statePath);
      }
      saveNetworkState(this.statePath, state);

      await this.collectRules(state, report);
      await this.collectVeths(live, report);
      await this.collectRunDirEntries(live, state, report);
      return report;
    });
  }

  /** Returns the network of a container from the state records, or undefined when it has none. */
  async inspect(containerId: string): Promise<ContainerNetwork | undefined> {
    return this.lock.withLock(async () => {
      const record = this.loadState().containers[containerId];
      return record === undefined ? undefined : this.describe(record);
    });
  }

  /**
   * Removes the bridge and its nft chains (and Berth's table when no other bridge uses it).
   * Throws InvalidNetworkRequestError while containers still have records on this bridge.
   */
  async removeBridge(): Promise<void> {
    return this.lock.withLock(async () => {
      const remaining = Object.keys(this.loadState().containers);
      if (remaining.length > 0) {
        throw new InvalidNetworkRequestError(`cannot remove bridge ${this.bridgeName}: containers ${remaining.join(', ')} still use it; tear them down first`);
      }
      await removeBridgeRules(this.bridgeName);
      await removeBridge(this.bridgeName);
    });
  }

  private loadState(): NetworkStateFile {
    return loadNetworkState(this.statePath, this.bridgeName, this.subnet.text);
  }

  private newRecord(state: NetworkStateFile, containerId: string, mode: ContainerRecord['mode'], hostname: string, publishPorts: ContainerRecord['publishPorts']): ContainerRecord {
    const record: ContainerRecord = {
      containerId,
      mode,
      etcDir: this.etcDir(containerId),
      hostname,
      publishPorts,
      createdAt: new Date().toISOString(),
    };
    if (mode !== 'host') record.netnsPath = this.netnsPath(containerId);
    if (mode === 'bridge') {
      const used = Object.values(state.containers).map((other) => other.address).filter((a): a is string => a !== undefined);
      record.address = allocateAddress(this.subnet, this.gateway, used, state.lastAddress);
      record.hostInterface = hostInterfaceName(containerId);
      state.lastAddress = record.address;
    }
    return record;
  }

  /** Creates the host resources a record describes, in an order where each step's failure leaves marks GC can follow. */
  private async build(state: NetworkStateFile, record: ContainerRecord): Promise<ContainerNetwork> {
    const id = record.containerId;
    if (record.mode === 'bridge') {
      await checkSubnetIsFree(this.subnet, this.bridgeName);
      await ensureBridge(this.bridgeName, this.gateway, this.subnet.prefixLength);
      this.emitStep(id, 'bridge');
    }
    if (record.netnsPath !== undefined) {
      // A namespace file or veth of this id without a record survives a lost state file; reusing
      // the id must not stack a second namespace on the file or collide with the old veth.
      await removeNetns(record.netnsPath);
      if (record.hostInterface !== undefined) await this.removeOwnedVeth(record.hostInterface, id);
      await createNetns(record.netnsPath);
      this.emitStep(id, 'netns');
    }
    if (record.mode === 'bridge' && record.netnsPath !== undefined && record.hostInterface !== undefined && record.address !== undefined) {
      await createVeth({ containerId: id, hostInterface: record.hostInterface, netnsPath: record.netnsPath, bridgeName: this.bridgeName, mtu: await this.containerMtu() });
      this.emitStep(id, 'veth');
      await configureContainerInterface(record.netnsPath, record.address, this.subnet.prefixLength, this.gateway);
      this.emitStep(id, 'addresses');
      await this.applyRules(state);
      for (const port of record.publishPorts.filter((published) => published.protocol === 'udp')) await forgetUdpPortFlows(port.hostPort);
      this.emitStep(id, 'rules');
    }
    this.writeEtc(record);
    this.emitStep(id, 'etc-files');
    return this.describe(record);
  }

  /**
   * Removes a record's resources and drops it from `state` (the caller saves). Rules go first so
   * no packet is forwarded to an address that is about to be freed.
   */
  private async release(state: NetworkStateFile, record: ContainerRecord): Promise<void> {
    const remaining = { ...state, containers: { ...state.containers } };
    delete remaining.containers[record.containerId];
    if ((await this.containersWithRules()).has(record.containerId)) await this.applyRules(remaining);

    if (record.hostInterface !== undefined) await this.removeOwnedVeth(record.hostInterface, record.containerId);
    if (record.address !== undefined) await forgetContainerFlows(record.address);
    for (const veth of await listOwnedVeths()) {
      if (veth.containerId === record.containerId) await deleteLink(veth.name);
    }
    if (record.netnsPath !== undefined) await removeNetns(record.netnsPath);
    removeEtcFiles(record.etcDir);
    delete state.containers[record.containerId];
  }

  /** Deletes the link only if its alias names this container or it has no alias yet (a crash before the alias was set). */
  private async removeOwnedVeth(name: string, containerId: string): Promise<void> {
    const owner = await ownerOfLink(name);
    if (owner !== undefined && owner !== containerId) {
      this.emitWarning(containerId, `veth ${name} belongs to container ${owner}, not ${containerId}; left in place`);
      return;
    }
    await deleteLink(name);
  }

  /** Re-renders the chains when they hold rules of containers without a record, for example after the state file was lost. */
  private async collectRules(state: NetworkStateFile, report: GarbageCollectionReport): Promise<void> {
    const stale = [...(await this.containersWithRules())].filter((id) => state.containers[id] === undefined);
    if (stale.length === 0) return;
    await this.applyRules(state);
    for (const id of stale) {
      report.rules.push(id);
      this.emitCollected(id, 'rules', `${this.bridgeName} chains`);
    }
  }

  /** Returns the ids named in comments of rules in this bridge's chains. */
  private async containersWithRules(): Promise<Set<string>> {
    const ownChains = new Set(bridgeChains(this.bridgeName).map((chain) => chain.name));
    const table = await listBerthTable();
    return new Set((table?.published ?? []).filter((rule) => ownChains.has(rule.chain)).map((rule) => rule.containerId));
  }

  private async collectVeths(live: Set<string>, report: GarbageCollectionReport): Promise<void> {
    for (const veth of await listOwnedVeths()) {
      if (live.has(veth.containerId)) continue;
      await deleteLink(veth.name);
      report.veths.push(veth.containerId);
      this.emitCollected(veth.containerId, 'veth', veth.name);
    }
  }

  /** Namespace files and /etc directories live under runDir/netns/ID and runDir/network/ID, so their names are their marks. */
  private async collectRunDirEntries(live: Set<string>, state: NetworkStateFile, report: GarbageCollectionReport): Promise<void> {
    const keep = (id: string) => live.has(id) || state.containers[id] !== undefined;
    for (const id of listNetnsFiles(join(this.options.runDir, 'netns'))) {
      if (keep(id)) continue;
      await removeNetns(this.netnsPath(id));
      report.netnsFiles.push(id);
      this.emitCollected(id, 'netns', this.netnsPath(id));
    }
    for (const id of listNetnsFiles(join(this.options.runDir, 'network'))) {
      if (keep(id)) continue;
      removeEtcFiles(this.etcDir(id));
      report.etcDirs.push(id);
      this.emitCollected(id, 'etc-files', this.etcDir(id));
    }
  }

  private async applyRules(state: NetworkStateFile): Promise<void> {
    const containers = Object.values(state.containers)
      .filter((record) => record.mode === 'bridge' && record.address !== undefined)
      .map((record) => ({ containerId: record.containerId, address: record.address as string, publishPorts: record.publishPorts }));
    await applyNftScript(renderBridgeRules({ bridgeName: this.bridgeName, subnet: this.subnet.text, containers }));
  }

  private writeEtc(record: ContainerRecord): void {
    const content = renderEtcFiles({
      mode: record.mode,
      hostname: record.hostname,
      address: record.address,
      hostResolvConf: readHostResolvConf(this.options.hostResolvConfPath ?? '/etc/resolv.conf'),
      hostHosts: record.mode === 'host' ? readFileSync(this.options.hostHostsPath ?? '/etc/hosts', 'utf8') : '',
      dnsServers: this.options.dnsServers,
    });
    if (record.mode !== 'host' && this.options.dnsServers === undefined && !content.resolvConf.includes('nameserver ')) {
      this.emitWarning(record.containerId, 'the host names no name server reachable from a container; resolv.conf has none (set dnsServers)');
    }
    writeEtcFiles(record.etcDir, content);
  }

  /** Builds a stand-in record for a container without one, so teardown still removes what carries its id. */
  private recordFromMarks(containerId: string): ContainerRecord {
    return {
      containerId,
      mode: 'none',
      netnsPath: this.netnsPath(containerId),
      etcDir: this.etcDir(containerId),
      hostname: hostnameFromContainerId(containerId),
      publishPorts: [],
      createdAt: new Date().toISOString(),
    };
  }

  private describe(record: ContainerRecord): ContainerNetwork {
    const network: ContainerNetwork = {
      containerId: record.containerId,
      mode: record.mode,
      publishPorts: record.publishPorts,
      hostname: record.hostname,
      etcFiles: etcFilePaths(record.etcDir),
    };
    if (record.netnsPath !== undefined) network.netnsPath = record.netnsPath;
    if (record.address !== undefined) {
      network.address = record.address;
      network.prefixLength = this.subnet.prefixLength;
      network.gateway = this.gateway;
      network.hostInterface = record.hostInterface;
    }
    return network;
  }

  private async containerMtu(): Promise<number> {
    this.mtu ??= await defaultRouteMtu();
    return this.mtu;
  }

  private netnsPath(containerId: string): string {
    return join(this.options.runDir, 'netns', containerId);
  }

  private etcDir(containerId: string): string {
    return join(this.options.runDir, 'network', containerId);
  }

  private emitStep(containerId: string, step: SetupStep): void {
    this.emit('event', { kind: 'step', containerId, step } satisfies HostNetworkEvent);
  }

  private emitCollected(containerId: string, resource: CollectedResource, name: string): void {
    this.emit('event', { kind: 'collected', containerId, resource, name } satisfies HostNetworkEvent);
  }

  private emitWarning(containerId: string | undefined, message: string): void {
    this.emit('event', { kind: 'warning', containerId, message } satisfies HostNetworkEvent);
  }
}
