import { createHash, Hash } from 'node:crypto';
import { DigestMismatchError, InvalidReferenceError } from './errors';

/** A validated content digest, `sha256:<64 hex>` or `sha512:<128 hex>`. */
export type Digest = string & { readonly __digest: unique symbol };

const DIGEST_PATTERN = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/** Reports whether `value` is a digest this package accepts, so it is safe in a URL or a path. */
export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST_PATTERN.test(value);
}

/**
 * Returns `value` as a Digest. Throws InvalidReferenceError naming `where` (a descriptor, a header)
 * when it is not `sha256:` or `sha512:` followed by lowercase hex of the right length.
 */
export function parseDigest(value: unknown, where: string): Digest {
  if (!isDigest(value)) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 160)) : String(value);
    throw new InvalidReferenceError(`invalid digest ${shown} in ${where}: expected sha256:<64 hex> or sha512:<128 hex>`);
  }
  return value;
}

/** Splits a digest into algorithm and hex, the two parts the content store uses as directories. */
export function digestParts(digest: Digest): { algorithm: 'sha256' | 'sha512'; hex: string } {
  const [algorithm, hex] = digest.split(':') as ['sha256' | 'sha512', string];
  return { algorithm, hex };
}

/** Starts a hash of the algorithm `digest` names. */
export function hasherFor(digest: Digest): Hash {
  return createHash(digestParts(digest).algorithm);
}

/** Returns the sha256 digest of a buffer. */
export function sha256Of(data: Buffer | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}` as Digest;
}

/** Returns the digest of `data` computed with the algorithm that `expected` uses. */
export function digestOf(data: Buffer, expected: Digest): Digest {
  const { algorithm } = digestParts(expected);
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}` as Digest;
}

/** Throws DigestMismatchError naming both digests and `what` when `data` does not hash to `expected`. */
export function verifyDigest(data: Buffer, expected: Digest, what: string): void {
  const actual = digestOf(data, expected);
  if (actual !== expected) {
    throw new DigestMismatchError(`${what}: digest mismatch, expected ${expected} but the content hashes to ${actual}`);
  }
}

/** Computes the chain ID of a layer stack: the key under which its top snapshot is stored. */
export function chainIds(diffIds: Digest[]): Digest[] {
  const chain: Digest[] = [];
  for (const diffId of diffIds) {
    const previous = chain[chain.length - 1];
    chain.push(previous === undefined ? diffId : sha256Of(`${previous} ${diffId}`));
  }
  return chain;
}
