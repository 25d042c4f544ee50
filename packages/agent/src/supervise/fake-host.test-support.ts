import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OciSpec } from '../spec/oci-types';
import { ContainerInfo, ContainerIo, HostPorts, LocalImage, NetworkRequest, PullProgress } from '../runtime/ports';

interface FakeContainer {
  info: ContainerInfo;
  spec: OciSpec;
  exited: Array<(info: ContainerInfo) => void>;
}

/**
 * In-memory host ports for supervisor tests: containers are records that tests make exit, images
 * are pulled instantly, and root filesystems are plain directories with an /etc/passwd.
 */
export class FakeHost implements HostPorts {
  readonly containers = new Map<string, FakeContainer>();
  readonly pulled = new Set<string>();
  readonly calls: string[] = [];
  readonly networks = new Set<string>();
  /** Pulls that fail (retryable) before one succeeds. */
  pullFailures = 0;
  /** Deletes that fail (not retryable) before one succeeds. */
  deleteFailures = 0;
  /** Errors that network setup throws, one per call, before it succeeds. */
  networkSetupErrors: Error[] = [];
  private nextPid = 1000;

  constructor(private readonly dir: string) {}

  images = {
    lookup: async (reference: string): Promise<LocalImage | undefined> => (this.pulled.has(reference) ? this.image(reference) : undefined),
    pull: async (reference: string, onProgress: (progress: PullProgress) => void): Promise<LocalImage> => {
      this.calls.push(`pull ${reference}`);
      if (this.pullFailures > 0) {
        this.pullFailures--;
        throw Object.assign(new Error(`registry for ${reference} unavailable`), { retryable: true });
      }
      onProgress({ reference, completedBytes: 1, totalBytes: 1 });
      this.pulled.add(reference);
      return this.image(reference);
    },
  };

  runtime = {
    defaultSpec: (): OciSpec => ({ ociVersion: '1.0.2', process: { user: { uid: 0, gid: 0 }, args: [], env: [], cwd: '/' }, root: { path: 'rootfs' }, mounts: [] }),
    create: async (id: string, spec: OciSpec, _io: ContainerIo, options?: { init?: boolean }) => {
      this.calls.push(options?.init ? `create ${id} with init` : `create ${id}`);
      this.containers.set(id, { info: { id, status: 'created', pid: 0, annotations: spec.annotations ?? {} }, spec, exited: [] });
    },
    start: async (id: string) => {
      this.calls.push(`start ${id}`);
      const container = this.containers.get(id)!;
      container.info = { ...container.info, status: 'running', pid: this.nextPid++ };
    },
    state: async (id: string) => this.containers.get(id)?.info,
    waitExit: (id: string) =>
      new Promise<ContainerInfo | undefined>((resolve) => {
        const container = this.containers.get(id);
        if (!container || container.info.status === 'stopped') return resolve(container?.info);
        container.exited.push(resolve);
      }),
    kill: async (id: string, signal: NodeJS.Signals) => {
      this.calls.push(`kill ${id} ${signal}`);
      this.exit(id, { signal, oomKilled: false });
    },
    delete: async (id: string) => {
      this.calls.push(`delete ${id}`);
      if (this.deleteFailures > 0) {
        this.deleteFailures--;
        throw new Error(`cannot remove cgroup of ${id}: EBUSY`);
      }
      this.containers.delete(id);
    },
    list: async () => [...this.containers.values()].map((container) => container.info),
  };

  network = {
    setup: async (containerId: string, request: NetworkRequest) => {
      const failure = this.networkSetupErrors.shift();
      if (failure) throw failure;
      this.networks.add(containerId);
      const etc = join(this.dir, 'etc', containerId);
      mkdirSync(etc, { recursive: true });
      return { netnsPath: `/run/netns/${containerId}`, address: '10.0.0.2', hostname: request.hostname, etcFiles: { hosts: join(etc, 'hosts'), hostname: join(etc, 'hostname'), resolvConf: join(etc, 'resolv.conf') } };
    },
    teardown: async (containerId: string) => {
      this.networks.delete(containerId);
    },
    collectGarbage: async (liveIds: string[]) => {
      for (const id of this.networks) if (!liveIds.includes(id)) this.networks.delete(id);
    },
  };

  rootfs = {
    mount: async (containerId: string) => {
      const path = join(this.dir, 'rootfs', containerId);
      mkdirSync(join(path, 'etc'), { recursive: true });
      writeFileSync(join(path, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
      return path;
    },
    remove: async (containerId: string) => rmSync(join(this.dir, 'rootfs', containerId), { recursive: true, force: true }),
    list: async () => [...this.containers.keys()],
  };

  /** Makes a running container exit as if its program ended. */
  exit(id: string, exit: ContainerInfo['exit']): void {
    const container = this.containers.get(id);
    if (!container || container.info.status === 'stopped') return;
    container.info = { ...container.info, status: 'stopped', pid: 0, exit };
    for (const resolve of container.exited.splice(0)) resolve(container.info);
  }

  private image(reference: string): LocalImage {
    return { reference, digest: 'sha256:' + 'a'.repeat(64), layerDirs: [join(this.dir, 'layer')], config: { cmd: ['/bin/sleep', '100'], env: ['PATH=/bin'] } };
  }
}
