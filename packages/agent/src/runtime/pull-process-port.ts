import { ContentStore } from '@berth/runtime-native/dist/images/content-store';
import { formatReference, parseReference } from '@berth/runtime-native/dist/images/reference';
import type { RegistryClientOptions } from '@berth/runtime-native/dist/images/registry-client';
import { join } from 'node:path';
import { runConfigOf } from '../spec/image-config';
import type { ImagePort, LocalImage, PullProgress } from './ports';
import { PULL_PROCESS_MAIN, PullProcess } from './pull-process';

/** Options of the image port that pulls in a child process. */
export interface PullProcessPortOptions {
  /** Berth's state directory; the image store lives in `<stateDir>/images`. */
  stateDir: string;
  registry: Pick<RegistryClientOptions, 'auth' | 'insecureRegistries'>;
  /** Entry script of the pull process; tests point it elsewhere. */
  mainPath?: string;
}

/** One pull of a reference, shared by every caller that requests it while it runs. */
interface SharedPull {
  listeners: Set<(progress: PullProgress) => void>;
  result: Promise<LocalImage>;
}

/**
 * The image port of the agent daemon. `pull` runs in a forked process (pull-process-main.ts), which
 * exits once no pull is pending, so that the memory of a pull burst goes back to the kernel with it.
 * Pulls that overlap run in the same process and share layers there. Concurrent pulls of the same
 * reference share one pull. `lookup` reads the local store in the agent, without the image modules
 * that pulling needs.
 */
export class PullProcessImagePort implements ImagePort {
  private readonly local: ContentStore;
  private opened: Promise<void> | undefined;
  private process: PullProcess | undefined;
  private readonly pulls = new Map<string, SharedPull>();

  constructor(private readonly options: PullProcessPortOptions) {
    this.local = new ContentStore(join(options.stateDir, 'images'));
  }

  /** Process id of the running pull process, if any. */
  get pullProcessId(): number | undefined {
    return this.process?.pid;
  }

  async lookup(reference: string): Promise<LocalImage | undefined> {
    this.opened ??= this.local.open();
    await this.opened;
    const canonical = formatReference(parseReference(reference));
    const record = Object.values(await this.local.readRecords()).find((candidate) => candidate.names.includes(canonical));
    if (!record) return undefined;
    for (const layer of record.layers) if (!(await this.local.hasSnapshot(layer.chainId))) return undefined;
    const config = JSON.parse((await this.local.readBlob(record.configDigest)).toString('utf8')) as { config?: Record<string, unknown> };
    return {
      reference: canonical,
      digest: record.indexDigest ?? record.digest,
      layerDirs: record.layers.map((layer) => this.local.snapshotFs(layer.chainId)),
      config: runConfigOf(config.config),
    };
  }

  /**
   * Pulls `reference` in the pull process. Throws the image store's error (InvalidReferenceError,
   * RegistryError, TransientRegistryError and the others of @berth/runtime-native), or a
   * PullProcessError when the process could not start, died or was stopped by `close`.
   */
  async pull(reference: string, onProgress: (progress: PullProgress) => void): Promise<LocalImage> {
    const key = canonicalKey(reference);
    let shared = this.pulls.get(key);
    if (!shared) {
      shared = this.startPull(reference);
      this.pulls.set(key, shared);
    }
    shared.listeners.add(onProgress);
    try {
      return await shared.result;
    } finally {
      shared.listeners.delete(onProgress);
    }
  }

  /** Kills the pull process; its pending pulls fail with a PullProcessError. */
  close(): void {
    this.process?.kill();
    this.process = undefined;
  }

  private startPull(reference: string): SharedPull {
    const listeners = new Set<(progress: PullProgress) => void>();
    const puller = this.runningProcess();
    const result = puller.pull(reference, (progress) => {
      for (const listener of listeners) listener(progress);
    });
    const shared = { listeners, result };
    const settle = () => {
      this.pulls.delete(canonicalKey(reference));
      // The last pull ending ends the process, and with it the memory of the burst.
      if (puller.pendingCount === 0) {
        puller.end();
        if (this.process === puller) this.process = undefined;
      }
    };
    result.then(settle, settle);
    return shared;
  }

  private runningProcess(): PullProcess {
    if (this.process) return this.process;
    const started: PullProcess = new PullProcess(
      { type: 'start', stateDir: this.options.stateDir, auth: this.options.registry.auth, insecureRegistries: this.options.registry.insecureRegistries },
      () => {
        if (this.process === started) this.process = undefined;
      },
      this.options.mainPath ?? PULL_PROCESS_MAIN,
    );
    this.process = started;
    return started;
  }
}

/** Returns the key under which concurrent pulls of one image meet: the canonical reference when it parses. */
function canonicalKey(reference: string): string {
  try {
    return formatReference(parseReference(reference));
  } catch {
    // The pull process rejects it with InvalidReferenceError naming the bad part.
    return reference;
  }
}
