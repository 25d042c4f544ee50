import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ContainerState } from '../oci-types';
import { Runtime } from '../runtime';
import { TestBundle } from './busybox-bundle';

/** Output and final state of a container run to completion. */
export interface RunResult {
  state: ContainerState;
  stdout: string;
  stderr: string;
}

/** A Runtime on a temporary run directory, removed (with its containers) by `dispose`. */
export class TestRuntime {
  readonly runDir = mkdtempSync(join(tmpdir(), 'berth-run-'));
  readonly runtime = new Runtime({ runDir: this.runDir });
  private counter = 0;

  /** A container id unique to this process, so parallel test runs never collide. */
  nextId(prefix: string): string {
    return `${prefix}-${process.pid}-${++this.counter}`;
  }

  /** Runs the bundle's config to completion and deletes the container. */
  async runToExit(bundle: TestBundle, id = this.nextId('t')): Promise<RunResult> {
    const stdoutPath = join(bundle.dir, `${id}.out`);
    const stderrPath = join(bundle.dir, `${id}.err`);
    await this.runtime.run(id, bundle.dir, { stdoutPath, stderrPath });
    const state = await this.runtime.waitExit(id);
    await this.runtime.delete(id);
    return { state, stdout: readFileSync(stdoutPath, 'utf8'), stderr: readFileSync(stderrPath, 'utf8') };
  }

  /** Force-deletes every container left under the run directory and removes it. */
  async dispose(): Promise<void> {
    for (const state of await this.runtime.list()) {
      await this.runtime.delete(state.id, { force: true });
    }
    rmSync(this.runDir, { recursive: true, force: true });
  }
}

/** Parses "key=value" lines printed by a probe script. */
export function parseProbe(output: string): Map<string, string> {
  const facts = new Map<string, string>();
  for (const line of output.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) facts.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return facts;
}

/**
 * Swap limit that keeps a memory hog from swapping instead of being OOM-killed: the memory limit
 * itself where the v1 memory controller accounts swap, else nothing (no swap accounting).
 */
export function noSwapLimit(memoryLimitBytes: number): number | undefined {
  return existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes') ? memoryLimitBytes : undefined;
}

/** cgroupsPath for a test container: one level under the root so nothing is left behind. */
export function testCgroupsPath(id: string): string {
  return `/berth-test-${id}`;
}

/** Lists cgroup directories named like test containers that still exist, for leak checks. */
export function leftoverTestCgroups(): string[] {
  const found: string[] = [];
  for (const controller of ['memory', 'pids', 'devices', 'cpu', 'freezer']) {
    try {
      const text = readFileSync('/proc/self/mountinfo', 'utf8');
      if (!text.includes(`/sys/fs/cgroup/${controller}`)) continue;
      for (const entry of require('node:fs').readdirSync(`/sys/fs/cgroup/${controller}`) as string[]) {
        if (entry.startsWith(`berth-test-`) && entry.includes(`-${process.pid}-`)) found.push(`${controller}/${entry}`);
      }
    } catch {
      // A controller that is not mounted has nothing to leak.
    }
  }
  return found;
}
