/**
 * Container start latency of Berth (through the addon and through the CLI), crun and runc on
 * the same OCI bundle: a busybox-static rootfs with the default spec (Docker's capabilities,
 * masked and read-only paths, seccomp profile, no_new_privs, new pid/ipc/uts/mount/network
 * namespaces, cgroups). Two scenarios, each N times after warm-up runs:
 *
 *   run          `run /bin/true`: create, start, wait for the exit, delete
 *   lifecycle    the same as separate create, start, wait and delete operations
 *
 * plus the floor of any such runtime: `unshare --pid --ipc --uts --mount --net --fork chroot
 * ROOTFS /bin/true`, without cgroups, mounts or seccomp.
 *
 *   node bench/dist/runtime-start.js [--iterations N]
 *
 * Command-line runtimes are timed inside one bash process with $EPOCHREALTIME around each
 * command, so every sample is one fork+exec of the tool and no Node overhead. That bash runs in
 * a private mount namespace with /sys/fs/cgroup/unified detached, because crun 1.8 refuses
 * hybrid cgroup hosts; every runtime runs in that same namespace. The addon is timed in this
 * process with process.hrtime. The state directories of every runtime are on a tmpfs, as
 * under /run in production. Needs root, crun, runc, busybox-static and util-linux.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Runtime } from '@berth/runtime-native/dist/runtime';
import { makeBusyboxBundle } from '@berth/runtime-native/dist/runtime/testing/busybox-bundle';

const DEFAULT_ITERATIONS = 50;
const WARMUP_ITERATIONS = 5;
const ADDON_WARMUP_ITERATIONS = 20;
const CGROUPS_PATH = '/berth-bench-runtime-start';
const CLI = resolve(__dirname, '../../packages/runtime-native/dist/cli/runtime-cli.js');

interface Series {
  name: string;
  samplesMs: number[];
}

function parseIterations(argv: string[]): number {
  const index = argv.indexOf('--iterations');
  if (index < 0) return DEFAULT_ITERATIONS;
  const value = Number(argv[index + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--iterations: expected a positive integer, got "${argv[index + 1]}"`);
  return value;
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function addonRun(runtime: Runtime, bundle: string, iterations: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = -WARMUP_ITERATIONS; i < iterations; i++) {
    const id = `bench-run-${i + WARMUP_ITERATIONS}`;
    const start = process.hrtime.bigint();
    await runtime.run(id, bundle);
    await runtime.waitExit(id);
    await runtime.delete(id);
    if (i >= 0) samples.push(elapsedMs(start));
  }
  return samples;
}

async function addonLifecycle(runtime: Runtime, bundle: string, iterations: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = -WARMUP_ITERATIONS; i < iterations; i++) {
    const id = `bench-life-${iterations}-${i + WARMUP_ITERATIONS}`;
    const start = process.hrtime.bigint();
    await runtime.create(id, bundle);
    await runtime.start(id);
    await runtime.waitExit(id);
    await runtime.delete(id);
    if (i >= 0) samples.push(elapsedMs(start));
  }
  return samples;
}

/** Runs a command to completion; throws with its stderr when it fails. */
function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr || result.error?.message}`);
}

/**
 * Times the shell command `timed` once per iteration in a single bash loop. Each output line is
 * "START END" in seconds, and `$ID` is a fresh container id in every iteration.
 */
function shellSeries(name: string, timed: string, iterations: number, vars: Record<string, string>): Series {
  const script = `
set -u
umount /sys/fs/cgroup/unified 2>/dev/null
for i in $(seq 1 $((WARMUP + ITERATIONS))); do
  ID=bench-$i
  t0=$EPOCHREALTIME
  ${timed}
  t1=$EPOCHREALTIME
  [ "$i" -gt "$WARMUP" ] && echo "$t0 $t1"
done
`;
  const result = spawnSync('unshare', ['--mount', '--propagation', 'private', 'bash', '-c', script], {
    env: { ...process.env, ...vars, WARMUP: String(WARMUP_ITERATIONS), ITERATIONS: String(iterations) },
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`${name} failed (exit ${result.status}): ${result.stderr.trim()}`);
  const samplesMs = result.stdout
    .trim()
    .split('\n')
    .map((line) => {
      const [t0, t1] = line.split(' ').map(Number);
      return (t1 - t0) * 1000;
    });
  if (samplesMs.length !== iterations) throw new Error(`${name}: expected ${iterations} samples, got ${samplesMs.length}: ${result.stderr.trim()}`);
  return { name, samplesMs };
}

function printTable(title: string, series: Series[], reference: string): void {
  const refMedian = percentile(series.find((s) => s.name === reference)?.samplesMs ?? [NaN], 50);
  console.log(`\n${title}`);
  console.log('| runtime | median ms | p95 ms | median / crun |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const s of series) {
    const median = percentile(s.samplesMs, 50);
    console.log(`| ${s.name} | ${median.toFixed(2)} | ${percentile(s.samplesMs, 95).toFixed(2)} | ${(median / refMedian).toFixed(2)} |`);
  }
}

async function main(): Promise<void> {
  const iterations = parseIterations(process.argv.slice(2));
  const bundle = makeBusyboxBundle({ args: ['/bin/true'], cgroupsPath: CGROUPS_PATH });
  const work = mkdtempSync(join(tmpdir(), 'berth-bench-start-'));
  // Every runtime keeps its state on tmpfs in production (/run/berth, /run/crun, /run/runc).
  // This machine's /run is on the root disk, so the state directories get a tmpfs of their own.
  run('mount', ['-t', 'tmpfs', '-o', 'mode=0700,size=64m', 'berth-bench-state', work]);
  try {
    const runDir = join(work, 'berth');
    const runtime = new Runtime({ runDir });
    const vars = { B: bundle.dir, R: work, ROOTFS: bundle.rootfs, CLI, NODE: process.execPath };

    // The first series in this process would otherwise also measure V8 compiling the runtime's
    // TypeScript and the first seccomp compilation; one untimed lifecycle series warms both.
    await addonLifecycle(runtime, bundle.dir, ADDON_WARMUP_ITERATIONS);

    const run: Series[] = [
      { name: 'berth (addon)', samplesMs: await addonRun(runtime, bundle.dir, iterations) },
      shellSeries('berth (CLI)', '"$NODE" "$CLI" --root "$R/cli" run "$ID" --bundle "$B" --stdout /dev/null --stderr /dev/null', iterations, vars),
      shellSeries('crun', 'crun --root "$R/crun" run --bundle "$B" "$ID" < /dev/null > /dev/null', iterations, vars),
      shellSeries('runc', 'runc --root "$R/runc" run --bundle "$B" "$ID" < /dev/null > /dev/null', iterations, vars),
      shellSeries('unshare + chroot (floor)', 'unshare --pid --ipc --uts --mount --net --fork chroot "$ROOTFS" /bin/true', iterations, vars),
    ];
    printTable(`run /bin/true, N=${iterations}`, run, 'crun');

    // A CLI has no wait command, so "wait + delete" retries delete until the runtime accepts it.
    // A /bin/true container has usually exited by the first attempt.
    const waitDelete = (tool: string) => `until ${tool} delete "$ID" 2>/dev/null; do :; done`;
    const lifecycle: Series[] = [
      { name: 'berth (addon)', samplesMs: await addonLifecycle(runtime, bundle.dir, iterations) },
      shellSeries('berth (CLI)', `"$NODE" "$CLI" --root "$R/cli" create "$ID" --bundle "$B" && "$NODE" "$CLI" --root "$R/cli" start "$ID" && ${waitDelete('"$NODE" "$CLI" --root "$R/cli"')}`, iterations, vars),
      shellSeries('crun', `crun --root "$R/crun" create --bundle "$B" "$ID" < /dev/null > /dev/null && crun --root "$R/crun" start "$ID" && ${waitDelete('crun --root "$R/crun"')}`, iterations, vars),
      shellSeries('runc', `runc --root "$R/runc" create --bundle "$B" "$ID" < /dev/null > /dev/null && runc --root "$R/runc" start "$ID" && ${waitDelete('runc --root "$R/runc"')}`, iterations, vars),
    ];
    printTable(`create + start + wait + delete, N=${iterations}`, lifecycle, 'crun');

    console.log(`\nmachine: ${cpus().length} CPUs, ${cpus()[0]?.model ?? 'unknown CPU'}, Linux ${release()}`);
  } finally {
    spawnSync('umount', [work]);
    rmSync(work, { recursive: true, force: true });
    bundle.remove();
    spawnSync('sh', ['-c', `for d in /sys/fs/cgroup/*${CGROUPS_PATH}; do [ -d "$d" ] && rmdir "$d"; done; true`]);
  }
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exitCode = 1;
});
