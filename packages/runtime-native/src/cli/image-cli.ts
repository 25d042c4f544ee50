#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ImageError, ImageRecord, ImageStore, Platform, PullProgress } from '../images';

const DEFAULT_STATE_DIR = '/var/lib/berth';
const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

const USAGE = `usage: berth-image [--state DIR] COMMAND

commands:
  pull REFERENCE [--insecure REGISTRY]... [--platform OS/ARCH[/VARIANT]] [--allow-devices]
                       pull an image and unpack its layers; prints the image digest
  images               list stored images: names, digest, layer count
  rm REFERENCE|DIGEST  remove a name, or a whole image by manifest digest (12 hex digits suffice)
  prune [DIGEST]...    remove blobs and snapshots no image uses; DIGESTs are unnamed images to keep

options:
  --state DIR          Berth state directory (default ${DEFAULT_STATE_DIR}); images live in DIR/images
`;

/** Parses `os/arch[/variant]`; throws a usage error for anything else. */
function parsePlatform(text: string): Platform {
  const [os, architecture, variant, extra] = text.split('/');
  if (!os || !architecture || extra !== undefined) throw new UsageError(`invalid --platform "${text}": expected OS/ARCH or OS/ARCH/VARIANT`);
  return { os, architecture, ...(variant ? { variant } : {}) };
}

class UsageError extends Error {}

function progressPrinter(): (progress: PullProgress) => void {
  const lastShownMiB = new Map<string, number>();
  return (progress) => {
    const short = progress.layer.slice(7, 19);
    const mib = Math.floor(progress.bytesDone / (1024 * 1024));
    if (progress.state === 'downloading' || progress.state === 'unpacking') {
      if (lastShownMiB.get(progress.layer) === mib) return;
      lastShownMiB.set(progress.layer, mib);
    }
    process.stderr.write(`${short} ${progress.state} ${mib}/${Math.ceil(progress.bytesTotal / (1024 * 1024))} MiB\n`);
  };
}

function formatImages(images: ImageRecord[]): string {
  const rows = [['NAME', 'DIGEST', 'LAYERS', 'PLATFORM', 'PULLED']];
  for (const image of images) {
    const names = image.names.length > 0 ? image.names : ['<none>'];
    for (const name of names) rows.push([name, image.digest.slice(0, 19), String(image.layers.length), image.platform ?? '-', image.pulledAt]);
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      state: { type: 'string', default: DEFAULT_STATE_DIR },
      insecure: { type: 'string', multiple: true, default: [] },
      platform: { type: 'string' },
      'allow-devices': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...args] = positionals;
  if (values.help || command === undefined) {
    process.stdout.write(USAGE);
    return values.help ? EXIT_OK : EXIT_USAGE;
  }
  const store = new ImageStore({ stateDir: values.state!, allowDevices: values['allow-devices'] });

  switch (command) {
    case 'pull': {
      if (args.length !== 1) throw new UsageError('pull takes exactly one REFERENCE');
      const image = await store.pull(args[0]!, {
        insecureRegistries: values.insecure,
        onProgress: progressPrinter(),
        ...(values.platform ? { platform: parsePlatform(values.platform) } : {}),
      });
      process.stdout.write(`${image.reference} ${image.manifestDigest}\n`);
      return EXIT_OK;
    }
    case 'images':
      process.stdout.write(`${formatImages(await store.list())}\n`);
      return EXIT_OK;
    case 'rm':
      if (args.length === 0) throw new UsageError('rm takes one or more REFERENCE or DIGEST');
      for (const target of args) await store.remove(target);
      return EXIT_OK;
    case 'prune': {
      const removed = await store.prune(args);
      process.stdout.write(`removed ${removed.blobs.length} blobs and ${removed.snapshots.length} snapshots\n`);
      return EXIT_OK;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`berth-image: ${error.message}\n${USAGE}`);
      process.exit(EXIT_USAGE);
    }
    const prefix = error instanceof ImageError ? '' : 'internal error: ';
    process.stderr.write(`berth-image: ${prefix}${error.message}\n`);
    process.exit(EXIT_FAILURE);
  },
);
