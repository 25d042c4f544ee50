import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LayerHelperError } from './errors';

/** Where `npm run build:layer` puts the helper, relative to this file in dist/images/. */
export const LAYER_HELPER_PATH = join(__dirname, '..', '..', 'native-layer', 'build', 'berth-layer');

/** One operation for the layer helper; see native-layer/berth-layer.c for their meaning. */
export type LayerHelperOp =
  | { op: 'whiteout'; path: string }
  | { op: 'mknod'; path: string; type: 'c' | 'b' | 'p'; mode: number; major: number; minor: number }
  | { op: 'xattr'; path: string; name: string; value: Buffer }
  | { op: 'meta'; path: string; uid: number; gid: number; mode: number | undefined; mtimeS: number; mtimeNs: number };

function encode(op: LayerHelperOp): string[] {
  switch (op.op) {
    case 'whiteout':
      return ['whiteout', op.path];
    case 'mknod':
      return ['mknod', op.path, op.type, op.mode.toString(8), String(op.major), String(op.minor)];
    case 'xattr':
      return ['xattr', op.path, op.name, op.value.toString('hex')];
    case 'meta':
      return ['meta', op.path, String(op.uid), String(op.gid), op.mode === undefined ? '-' : op.mode.toString(8), String(op.mtimeS), String(op.mtimeNs)];
  }
}

/**
 * Runs the layer helper once over `root` with all queued operations. Throws LayerHelperError with
 * the helper's own message (operation, path, system call, errno) when it fails or is not built.
 */
export async function runLayerHelper(root: string, ops: LayerHelperOp[], helperPath = LAYER_HELPER_PATH): Promise<void> {
  if (ops.length === 0) return;
  if (!existsSync(helperPath)) {
    throw new LayerHelperError(`layer helper not found at ${helperPath}: run "npm run build:layer --workspace @berth/runtime-native"`);
  }
  const parts: Buffer[] = [];
  for (const op of ops) {
    for (const field of encode(op)) {
      if (field.length === 0 || field.includes('\0')) throw new LayerHelperError(`layer helper request for ${op.path}: empty field or NUL byte`);
      parts.push(Buffer.from(field, 'utf8'), Buffer.alloc(1));
    }
    parts.push(Buffer.alloc(1));
  }
  await new Promise<void>((resolve, reject) => {
    const child = spawn(helperPath, [root], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', (error) => reject(new LayerHelperError(`layer helper ${helperPath} failed to start: ${error.message}`)));
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new LayerHelperError(`layer helper failed in ${root}: ${stderr.trim() || `exit status ${code}`}`));
    });
    child.stdin.on('error', () => {
      // A helper that exits early closes its stdin; its exit status and stderr carry the reason.
    });
    child.stdin.end(Buffer.concat(parts));
  });
}
