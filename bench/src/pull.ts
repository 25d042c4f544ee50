/**
 * Image pull benchmark: pulls and unpacks the same three-layer image from a local docker-registry
 * with Berth's ImageStore and with `skopeo copy` + `umoci unpack`, cold (empty store) and warm
 * (everything already stored), and prints the medians and ratios. Berth's cold pull is timed twice:
 * in a new agent pull process (the process the agent forks for each burst of pulls), and in this
 * process after a warm-up pull. A plain `tar -xzf` of the layers is timed as a floor. Each timed step starts after `sync`,
 * and the order of the two tools alternates between runs.
 *
 * Every tree lives on a new ext4 file system with a journal, made in a sparse file and
 * loop-mounted, unless `--dir` names a directory to use instead (see RECENT_DELETION_WINDOW_MS).
 * Run as root: node bench/dist/pull.js [--runs N] [--dir PATH] [--json FILE]
 *
 * The image is built from directories of this Debian host (Python's and Perl's libraries, locale
 * sources, time zones) so its mix of many small text files and some larger ones resembles a
 * distribution base image.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ImageStore } from '@berth/runtime-native';
import { addTreeLayer, createOciLayout, makeTempDir, newImage, OciLayout, pushImage, removeOciLayout, removeTempDir, runCommand, startRegistry } from '@berth/testkit';
import { BenchFilesystem, checkFreeSpace, createLoopFilesystem, formatFilesystem, MIN_LOOP_FILESYSTEM_BYTES, useExistingDirectory } from './bench-filesystem';
import { EXIT_INTERRUPTED, InterruptedError, Interruption } from './interruption';
import { PullProcess } from '@berth/agent/dist/runtime/pull-process';

const LAYER_SOURCES = [
  ['/usr/lib/python3.11', '/usr/share/perl'],
  ['/usr/share/i18n', '/usr/share/zoneinfo', '/usr/lib/x86_64-linux-gnu/perl'],
  ['/etc'],
];
const DEFAULT_RUNS = 3;
/**
 * Used with --dir only. On ext4 without a journal (this VM's root file system), creating an inode
 * skips every free inode of its group that was deleted in the last 60 s, one buffer lookup each.
 * The window grows to 360 s while that inode-table block is dirty (`recently_deleted` in
 * fs/ext4/ialloc.c, Linux 6.x). With a journal the kernel skips this check.
 * Waiting after the image build lets the build's own deletions age past 60 s once `sync` has
 * written their blocks. That is not enough there, because each run's `umoci unpack` writes the
 * third layer's whiteout target (a few thousand inodes) and then deletes it. The next steps and
 * runs still pay the scan, and a later allocation in the group dirties the block again.
 */
const RECENT_DELETION_WINDOW_MS = 65_000;
/**
 * Size of the sparse file per run. One run wrote about 0.6 GiB (df) with the image built from
 * a Debian 12 host, and checkFreeSpace stops a larger image before the runs start.
 */
const LOOP_FILESYSTEM_BYTES_PER_RUN = 1024 ** 3;
/** Space a path takes beyond its data in the estimate: at most one partly used 4 KiB block. */
const PATH_OVERHEAD_BYTES = 4096;
/** Unit of the CPU times in /proc/PID/stat (USER_HZ, 100 on Linux). */
const CLOCK_TICKS_PER_S = 100;

interface Timing {
  /** Cold pull in the agent's pull process, from fork to exit. */
  berthNewProcessColdMs: number;
  /** CPU time (user + system, all threads) of the pull process from its start to its pull's result. */
  berthNewProcessColdCpuMs: number;
  /** Cold pull in this benchmark process, after a warm-up pull. */
  berthColdMs: number;
  /** CPU time (user + system, all threads) of this process during that pull: less sensitive to other load than wall time. */
  berthColdCpuMs: number;
  referenceColdCpuMs: number;
  berthWarmMs: number;
  referenceColdMs: number;
  referenceWarmMs: number;
  tarMs: number;
}

/** Medians over the runs, as printed and written by --json. */
type Result = Timing & { runs: number; image: ImageSize };

/** Size of the benchmark image, for the header and the free-space estimate. */
interface ImageSize {
  layers: number;
  compressedBytes: number;
  unpackedBytes: number;
  paths: number;
}

const interruption = new Interruption();

async function copyInto(rootfs: string, sources: string[]): Promise<void> {
  for (const source of sources) {
    if (!existsSync(source)) throw new Error(`bench/pull: ${source} is missing; the benchmark builds its image from a Debian 12 host's files`);
    const target = join(rootfs, source);
    await runCommand('mkdir', ['-p', join(target, '..')]);
    await runCommand('cp', ['-a', source, target]);
  }
}

async function buildImage(layout: OciLayout): Promise<void> {
  await newImage(layout, 'bench', (rootfs) => copyInto(rootfs, LAYER_SOURCES[0]!));
  await addTreeLayer(layout, 'bench', (rootfs) => copyInto(rootfs, LAYER_SOURCES[1]!));
  await addTreeLayer(layout, 'bench', async (rootfs) => {
    await copyInto(rootfs, LAYER_SOURCES[2]!);
    // Deletions make the third layer carry whiteouts, as upgrades in real images do.
    rmSync(join(rootfs, 'usr/share/perl'), { recursive: true, force: true });
  });
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * Flushes dirty pages first, so the previous step's writeback does not land on whichever tool
 * runs next. Also the boundary at which a SIGINT stops the benchmark.
 */
async function settle(): Promise<void> {
  interruption.check();
  await runCommand('sync', []);
}

/**
 * Pulls into an empty store through the agent's own pull process: `PullProcess` forks
 * pull-process-main.js with the agent's Node flags, sends it one pull and closes its channel, on
 * which it exits. Wall time runs from the fork to the exit. CPU time is that of all the child's
 * threads when its pull result arrived, read from /proc in clock ticks (10 ms).
 */
async function pullInNewProcess(reference: string, stateDir: string): Promise<{ wallMs: number; cpuMs: number }> {
  const start = process.hrtime.bigint();
  let exited!: () => void;
  const exit = new Promise<void>((resolve) => (exited = resolve));
  const puller = new PullProcess({ type: 'start', stateDir }, () => exited());
  const forgetChild = interruption.addForcedCleanup(() => puller.kill());
  let cpuMs: number;
  try {
    await puller.pull(reference, () => undefined);
    cpuMs = processCpuMs(puller.pid!);
    puller.end();
    await exit;
  } catch (error) {
    puller.kill();
    await exit;
    throw new Error(`bench/pull: the pull in the agent's pull process failed: ${(error as Error).message}`);
  } finally {
    forgetChild();
  }
  return { wallMs: Number(process.hrtime.bigint() - start) / 1e6, cpuMs };
}

/** User plus system CPU time of a running process, all threads, from /proc/PID/stat. */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS_PER_S;
}

type BerthTiming = Pick<Timing, 'berthNewProcessColdMs' | 'berthNewProcessColdCpuMs' | 'berthColdMs' | 'berthWarmMs' | 'berthColdCpuMs'>;

async function measureBerth(reference: string, work: string): Promise<BerthTiming> {
  await settle();
  const newProcess = await pullInNewProcess(reference, join(work, 'berth-new-process'));

  const store = new ImageStore({ stateDir: join(work, 'berth') });
  await settle();
  const cpuBefore = process.cpuUsage();
  const berthColdMs = await timed(() => store.pull(reference));
  const cpuUsed = process.cpuUsage(cpuBefore);

  let downloaded = 0;
  await settle();
  const berthWarmMs = await timed(() => store.pull(reference, { onProgress: (progress) => { if (progress.state !== 'cached') downloaded++; } }));
  if (downloaded !== 0) throw new Error('bench/pull: the warm Berth pull downloaded layers; the store is not reusing snapshots');
  return {
    berthNewProcessColdMs: newProcess.wallMs,
    berthNewProcessColdCpuMs: newProcess.cpuMs,
    berthColdMs,
    berthWarmMs,
    berthColdCpuMs: (cpuUsed.user + cpuUsed.system) / 1000,
  };
}

async function measureReference(reference: string, work: string): Promise<Pick<Timing, 'referenceColdMs' | 'referenceWarmMs' | 'referenceColdCpuMs'>> {
  const referenceLayout = join(work, 'oci');
  const cpuFile = join(work, 'cpu');
  // GNU time writes the child's user and system seconds, which Node cannot read for a child.
  const withCpu = async (command: string[]) => {
    await runCommand('/usr/bin/time', ['-f', '%U %S', '-o', cpuFile, ...command]);
    const [user, system] = readFileSync(cpuFile, 'utf8').trim().split(' ').map(Number);
    return (user! + system!) * 1000;
  };
  const copy = () => withCpu(['skopeo', 'copy', '--quiet', '--src-tls-verify=false', `docker://${reference}`, `oci:${referenceLayout}:bench`]);
  const unpack = (bundle: string) => withCpu(['umoci', 'unpack', '--image', `${referenceLayout}:bench`, join(work, bundle)]);
  let referenceColdCpuMs = 0;
  await settle();
  const referenceColdMs = await timed(async () => {
    referenceColdCpuMs += await copy();
    referenceColdCpuMs += await unpack('bundle-cold');
  });
  await settle();
  const referenceWarmMs = await timed(async () => {
    await copy();
    await unpack('bundle-warm');
  });
  return { referenceColdMs, referenceWarmMs, referenceColdCpuMs };
}

/**
 * Runs both tools once in `work`; `berthFirst` alternates the order so neither always inherits the
 * other's writeback. Nothing is deleted until the benchmark's file system or directory is removed
 * after the last run (see RECENT_DELETION_WINDOW_MS).
 */
async function measureOnce(reference: string, layout: OciLayout, berthFirst: boolean, work: string): Promise<Timing> {
  let berth: BerthTiming;
  let referenceTimes: Awaited<ReturnType<typeof measureReference>>;
  if (berthFirst) {
    berth = await measureBerth(reference, work);
    referenceTimes = await measureReference(reference, work);
  } else {
    referenceTimes = await measureReference(reference, work);
    berth = await measureBerth(reference, work);
  }
  await settle();
  const tarMs = await timed(() => extractWithTar(layout, join(work, 'tar')));
  return { ...berth, ...referenceTimes, tarMs };
}

/** Extracts the image's layer blobs one after another with GNU tar: the floor for any extractor. */
async function extractWithTar(layout: OciLayout, target: string): Promise<void> {
  const index = JSON.parse(readFileSync(join(layout.dir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifestHex = index.manifests[0]!.digest.slice('sha256:'.length);
  const manifest = JSON.parse(readFileSync(join(layout.dir, 'blobs', 'sha256', manifestHex), 'utf8')) as { layers: { digest: string }[] };
  await runCommand('mkdir', ['-p', target]);
  for (const layer of manifest.layers) {
    await runCommand('tar', ['-xzf', join(layout.dir, 'blobs', 'sha256', layer.digest.slice('sha256:'.length)), '-C', target]);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function measureImage(layout: OciLayout): Promise<ImageSize> {
  const blobs = join(layout.dir, 'blobs', 'sha256');
  const index = JSON.parse(readFileSync(join(layout.dir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(readFileSync(join(blobs, index.manifests[0]!.digest.slice(7)), 'utf8')) as { layers: { size: number }[] };
  const compressedBytes = manifest.layers.reduce((sum, layer) => sum + layer.size, 0);
  const bundle = makeTempDir('bench-size');
  try {
    await runCommand('umoci', ['unpack', '--image', `${layout.dir}:bench`, join(bundle, 'b')]);
    const unpackedBytes = Number((await runCommand('du', ['-sb', join(bundle, 'b', 'rootfs')])).stdout.split('\t')[0]);
    const paths = readdirSync(join(bundle, 'b', 'rootfs'), { recursive: true }).length;
    return { layers: manifest.layers.length, compressedBytes, unpackedBytes, paths };
  } finally {
    removeTempDir(bundle);
  }
}

function formatImage(image: ImageSize): string {
  return `${image.layers} layers, ${(image.compressedBytes / 1e6).toFixed(1)} MB gzip, ${(image.unpackedBytes / 1024 ** 2).toFixed(0)} MiB unpacked, ${image.paths} paths`;
}

/**
 * Upper estimate of what the runs write: per run five unpacked trees (two Berth stores, two umoci
 * bundles, tar's target) and three copies of the blobs (two Berth stores, skopeo's layout), plus
 * the warm-up pull's store.
 */
function estimateRunsBytes(image: ImageSize, runs: number): number {
  const tree = image.unpackedBytes + image.paths * PATH_OVERHEAD_BYTES;
  return runs * (5 * tree + 3 * image.compressedBytes) + tree + image.compressedBytes;
}

interface Options {
  runs: number;
  dir: string | undefined;
  json: string | undefined;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: String(DEFAULT_RUNS) },
      dir: { type: 'string' },
      json: { type: 'string' },
    },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`invalid --runs "${values.runs}": expected a whole number of at least 1`);
  return { runs, dir: values.dir, json: values.json };
}

/** Runs the benchmark on `filesystem` and prints each run; returns the medians. */
async function benchmark(options: Options, filesystem: BenchFilesystem): Promise<Result> {
  const { runs } = options;
  const registry = await startRegistry();
  const forgetRegistry = interruption.addForcedCleanup(() => registry.process.child.kill('SIGKILL'));
  let layout: OciLayout | undefined;
  try {
    layout = await createOciLayout();
    await buildImage(layout);
    interruption.check();
    const reference = `${registry.host}/bench/debian-like:1`;
    await pushImage(layout, 'bench', reference);
    const image = await measureImage(layout);
    console.log(`image: ${formatImage(image)}`);
    interruption.check();

    const neededBytes = estimateRunsBytes(image, runs);
    checkFreeSpace(filesystem.root, neededBytes, `bench/pull with ${runs} runs`);
    if (filesystem.backingDir) checkFreeSpace(filesystem.backingDir, neededBytes, `the sparse file of bench/pull with ${runs} runs`);

    // Later pulls in this process are "warm process" pulls, with the image modules loaded and their
    // code warmed up by this pull.
    await new ImageStore({ stateDir: makeTempDir('bench-warm-up') }).pull(reference);
    if (options.dir !== undefined) {
      await settle();
      await interruption.sleep(RECENT_DELETION_WINDOW_MS);
    }

    const timings: Timing[] = [];
    for (let run = 0; run < runs; run++) {
      const berthFirst = run % 2 === 0;
      const timing = await measureOnce(reference, layout, berthFirst, makeTempDir('bench-pull'));
      timings.push(timing);
      // Single runs show how much the other load on the machine moved the medians.
      console.log(
        `run ${run + 1} (${berthFirst ? 'berth' : 'skopeo + umoci'} first): berth cold, agent pull process ${timing.berthNewProcessColdMs.toFixed(0)} ms, ` +
        `berth cold, warm process ${timing.berthColdMs.toFixed(0)} ms, skopeo + umoci cold ${timing.referenceColdMs.toFixed(0)} ms, ` +
        `tar ${timing.tarMs.toFixed(0)} ms, load average ${loadavg()[0]!.toFixed(2)}`,
      );
    }

    const keys = Object.keys(timings[0]!) as (keyof Timing)[];
    const medians = Object.fromEntries(keys.map((key) => [key, median(timings.map((timing) => timing[key]))])) as unknown as Timing;
    return { runs, image, ...medians };
  } finally {
    await registry.stop();
    forgetRegistry();
    if (layout) removeOciLayout(layout);
  }
}

function printResult(result: Result): void {
  const ms = (value: number) => value.toFixed(0);
  const ratio = (berth: number, reference: number, digits: number) => (berth / reference).toFixed(digits);
  console.log(`median of ${result.runs} runs (ms):`);
  console.log(`  berth cold, pull process   ${ms(result.berthNewProcessColdMs)}`);
  console.log(`  berth cold, warm process   ${ms(result.berthColdMs)}`);
  console.log(`  skopeo + umoci cold        ${ms(result.referenceColdMs)}`);
  console.log(`  berth warm                 ${ms(result.berthWarmMs)}`);
  console.log(`  skopeo + umoci warm        ${ms(result.referenceWarmMs)}`);
  console.log(`  tar -xzf of layers         ${ms(result.tarMs)}`);
  console.log(
    `  cold CPU time: berth pull process ${ms(result.berthNewProcessColdCpuMs)}, berth warm process ${ms(result.berthColdCpuMs)}, ` +
    `skopeo + umoci ${ms(result.referenceColdCpuMs)}`,
  );
  console.log(
    `ratio berth/reference: cold, pull process ${ratio(result.berthNewProcessColdMs, result.referenceColdMs, 2)}; ` +
    `cold, warm process ${ratio(result.berthColdMs, result.referenceColdMs, 2)}; warm ${ratio(result.berthWarmMs, result.referenceWarmMs, 3)}`,
  );
}

async function main(): Promise<void> {
  const options = parseOptions();
  interruption.install();
  const filesystem = options.dir === undefined
    ? await createLoopFilesystem(Math.max(MIN_LOOP_FILESYSTEM_BYTES, options.runs * LOOP_FILESYSTEM_BYTES_PER_RUN))
    : await useExistingDirectory(options.dir);
  const forgetFilesystem = interruption.addForcedCleanup(() => filesystem.removeNow());
  try {
    console.log(`file system: ${formatFilesystem(filesystem.info)}`);
    // testkit makes the registry's storage, the OCI layout and the image build's bundles under
    // os.tmpdir(), which reads TMPDIR, so this puts them on the benchmark's file system too.
    process.env.TMPDIR = filesystem.root;
    interruption.check();

    const result = await benchmark(options, filesystem);
    printResult(result);
    if (options.json) writeFileSync(options.json, `${JSON.stringify({ ...result, filesystem: filesystem.info }, null, 2)}\n`);
  } finally {
    await removeFilesystem(filesystem);
    forgetFilesystem();
  }
}

/** Removes the benchmark's file system. A failure is printed, not thrown, so an earlier error still shows. */
async function removeFilesystem(filesystem: BenchFilesystem): Promise<void> {
  try {
    await filesystem.remove();
  } catch (error) {
    console.error(`bench/pull: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}

main().then(
  () => interruption.dispose(),
  (error: Error) => {
    // A signal also reaches the children in the terminal's process group, so their failure is the interruption.
    if (error instanceof InterruptedError || interruption.signal) {
      console.error(`bench/pull: interrupted by ${interruption.signal}`);
      process.exit(EXIT_INTERRUPTED);
    }
    console.error(`bench/pull failed: ${error.message}`);
    process.exit(1);
  },
);
