/**
 * Image pull benchmark: pulls and unpacks the same three-layer image from a local docker-registry
 * with Berth's ImageStore and with `skopeo copy` + `umoci unpack`, cold (empty store) and warm
 * (everything already stored), and prints the medians and ratios. A plain `tar -xzf` of the layers
 * is timed as a floor. Each timed step starts after `sync`, and the order of the two tools
 * alternates between runs. Run as root: node bench/dist/pull.js [--runs N]
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

const LAYER_SOURCES = [
  ['/usr/lib/python3.11', '/usr/share/perl'],
  ['/usr/share/i18n', '/usr/share/zoneinfo', '/usr/lib/x86_64-linux-gnu/perl'],
  ['/etc'],
];
const DEFAULT_RUNS = 3;
/**
 * On ext4 without a journal (this VM's root file system), creating an inode skips every free inode
 * of its group deleted in the last 60 s (300 s while the inode table is dirty), one buffer lookup
 * each. Right after the image build removed its staging trees, that scan was most of the system
 * time of whichever tool ran next, so the runs start only once the window has passed.
 */
const RECENT_DELETION_WINDOW_MS = 65_000;

interface Timing {
  /** CPU time (user + system) of the cold pulls: less sensitive to other load than wall time. */
  berthColdCpuMs: number;
  referenceColdCpuMs: number;
  berthColdMs: number;
  berthWarmMs: number;
  referenceColdMs: number;
  referenceWarmMs: number;
  tarMs: number;
}

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
 * Flushes dirty pages first, so the previous step's writeback (and the removal of the last run's
 * trees) does not land on whichever tool runs next.
 */
async function settle(): Promise<void> {
  await runCommand('sync', []);
}

async function measureBerth(reference: string, work: string): Promise<Pick<Timing, 'berthColdMs' | 'berthWarmMs' | 'berthColdCpuMs'>> {
  const store = new ImageStore({ stateDir: join(work, 'berth') });
  await settle();
  const cpuBefore = process.cpuUsage();
  const berthColdMs = await timed(() => store.pull(reference));
  const cpuUsed = process.cpuUsage(cpuBefore);
  let downloaded = 0;
  await settle();
  const berthWarmMs = await timed(() => store.pull(reference, { onProgress: (progress) => { if (progress.state !== 'cached') downloaded++; } }));
  if (downloaded !== 0) throw new Error('bench/pull: the warm Berth pull downloaded layers; the store is not reusing snapshots');
  return { berthColdMs, berthWarmMs, berthColdCpuMs: (cpuUsed.user + cpuUsed.system) / 1000 };
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
 * other's writeback. The caller removes `work` only after the last run (see RECENT_DELETION_WINDOW_MS).
 */
async function measureOnce(reference: string, layout: OciLayout, berthFirst: boolean, work: string): Promise<Timing> {
  let berth: Awaited<ReturnType<typeof measureBerth>>;
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

async function describeImage(layout: OciLayout): Promise<string> {
  const blobs = join(layout.dir, 'blobs', 'sha256');
  const index = JSON.parse(readFileSync(join(layout.dir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(readFileSync(join(blobs, index.manifests[0]!.digest.slice(7)), 'utf8')) as { layers: { size: number }[] };
  const compressed = manifest.layers.reduce((sum, layer) => sum + layer.size, 0);
  const bundle = makeTempDir('bench-size');
  try {
    await runCommand('umoci', ['unpack', '--image', `${layout.dir}:bench`, join(bundle, 'b')]);
    const unpacked = Number((await runCommand('du', ['-sb', join(bundle, 'b', 'rootfs')])).stdout.split('\t')[0]);
    const files = readdirSync(join(bundle, 'b', 'rootfs'), { recursive: true }).length;
    return `${manifest.layers.length} layers, ${(compressed / 1e6).toFixed(1)} MB gzip, ${(unpacked / 1024 ** 2).toFixed(0)} MiB unpacked, ${files} paths`;
  } finally {
    removeTempDir(bundle);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: String(DEFAULT_RUNS) }, json: { type: 'string' } } });
  const runs = Number(values.runs);
  const registry = await startRegistry();
  const layout = await createOciLayout();
  try {
    await buildImage(layout);
    const reference = `${registry.host}/bench/debian-like:1`;
    await pushImage(layout, 'bench', reference);
    console.log(`image: ${await describeImage(layout)}`);

    await settle();
    await new Promise((resolve) => setTimeout(resolve, RECENT_DELETION_WINDOW_MS));
    const timings: Timing[] = [];
    const works: string[] = [];
    try {
      for (let run = 0; run < runs; run++) {
        works.push(makeTempDir('bench-pull'));
        const berthFirst = run % 2 === 0;
        const timing = await measureOnce(reference, layout, berthFirst, works[run]!);
        timings.push(timing);
        // Single runs show how much the other load on the machine moved the medians.
        console.log(
          `run ${run + 1} (${berthFirst ? 'berth' : 'skopeo + umoci'} first): berth cold ${timing.berthColdMs.toFixed(0)} ms, ` +
          `skopeo + umoci cold ${timing.referenceColdMs.toFixed(0)} ms, tar ${timing.tarMs.toFixed(0)} ms, load average ${loadavg()[0]!.toFixed(2)}`,
        );
      }
    } finally {
      for (const work of works) removeTempDir(work);
    }
    const pick = (key: keyof Timing) => median(timings.map((timing) => timing[key]));
    const result = {
      runs,
      berthColdMs: pick('berthColdMs'), berthWarmMs: pick('berthWarmMs'),
      referenceColdMs: pick('referenceColdMs'), referenceWarmMs: pick('referenceWarmMs'), tarMs: pick('tarMs'),
      berthColdCpuMs: pick('berthColdCpuMs'), referenceColdCpuMs: pick('referenceColdCpuMs'),
    };
    console.log(`median of ${runs} runs (ms):`);
    console.log(`  berth cold            ${result.berthColdMs.toFixed(0)}`);
    console.log(`  skopeo + umoci cold   ${result.referenceColdMs.toFixed(0)}`);
    console.log(`  berth warm            ${result.berthWarmMs.toFixed(0)}`);
    console.log(`  skopeo + umoci warm   ${result.referenceWarmMs.toFixed(0)}`);
    console.log(`  tar -xzf of layers    ${result.tarMs.toFixed(0)}`);
    console.log(`  cold CPU time: berth ${result.berthColdCpuMs.toFixed(0)}, skopeo + umoci ${result.referenceColdCpuMs.toFixed(0)}`);
    console.log(`ratio berth/reference: cold ${(result.berthColdMs / result.referenceColdMs).toFixed(2)}, warm ${(result.berthWarmMs / result.referenceWarmMs).toFixed(3)}`);
    if (values.json) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await registry.stop();
    removeOciLayout(layout);
  }
}

main().catch((error: Error) => {
  console.error(`bench/pull failed: ${error.message}`);
  process.exit(1);
});
