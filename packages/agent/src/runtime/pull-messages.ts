import * as imageErrors from '@berth/runtime-native/dist/images/errors';
import type { RegistryClientOptions } from '@berth/runtime-native/dist/images/registry-client';
import type { LocalImage, PullProgress } from './ports';

/**
 * Messages between the agent and its image pull process, sent over the IPC channel of
 * `child_process.fork` (JSON serialization). The agent sends `start` once, then one `pull` per
 * reference. The pull process responds to each `pull` with any number of `progress` messages and
 * then exactly one `pulled` or `failed` with the same `id`.
 */

/** Registry settings of every pull of one process. Sent over IPC, not argv, because they hold credentials. */
export interface StartMessage extends Pick<RegistryClientOptions, 'auth' | 'insecureRegistries'> {
  type: 'start';
  stateDir: string;
}

export interface PullMessage {
  type: 'pull';
  id: number;
  reference: string;
}

export type AgentToPullerMessage = StartMessage | PullMessage;

export interface ProgressMessage {
  type: 'progress';
  id: number;
  progress: PullProgress;
}

export interface PulledMessage {
  type: 'pulled';
  id: number;
  image: LocalImage;
}

export interface FailedMessage {
  type: 'failed';
  id: number;
  error: SerializedError;
}

export type PullerToAgentMessage = ProgressMessage | PulledMessage | FailedMessage;

/** The fields of a thrown error that the agent acts on or logs, as plain JSON. */
export interface SerializedError {
  name: string;
  message: string;
  retryable?: boolean;
  /** HTTP status of a RegistryError. */
  status?: number;
  /** Node's system error code, such as `ENOSPC`. */
  code?: string;
  cause?: SerializedError;
}

/** Maximum depth of `cause` chains carried over IPC; deeper causes are dropped. */
const MAX_CAUSE_DEPTH = 3;

/** Converts any thrown value into JSON that `deserializeError` turns back into the same class. */
export function serializeError(error: unknown, depth = 0): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const fields = error as Error & { retryable?: unknown; status?: unknown; code?: unknown };
  const serialized: SerializedError = { name: error.name, message: error.message };
  if (typeof fields.retryable === 'boolean') serialized.retryable = fields.retryable;
  if (typeof fields.status === 'number') serialized.status = fields.status;
  if (typeof fields.code === 'string') serialized.code = fields.code;
  if (error.cause !== undefined && depth < MAX_CAUSE_DEPTH) serialized.cause = serializeError(error.cause, depth + 1);
  return serialized;
}

/** Image error classes by name, so that the agent gets an instance of the class the image store threw. */
const IMAGE_ERROR_CLASSES = new Map<string, new (message: string, options?: { cause?: unknown }) => imageErrors.ImageError>([
  ['InvalidReferenceError', imageErrors.InvalidReferenceError],
  ['AuthenticationError', imageErrors.AuthenticationError],
  ['DigestMismatchError', imageErrors.DigestMismatchError],
  ['TransientRegistryError', imageErrors.TransientRegistryError],
  ['NotSupportedError', imageErrors.NotSupportedError],
  ['PlatformMismatchError', imageErrors.PlatformMismatchError],
  ['HostileLayerError', imageErrors.HostileLayerError],
  ['ImageNotFoundError', imageErrors.ImageNotFoundError],
  ['LayerHelperError', imageErrors.LayerHelperError],
  ['InternalImageError', imageErrors.InternalImageError],
]);

/**
 * Rebuilds an error that the pull process serialized. Image store errors come back as instances of
 * their class in @berth/runtime-native with the same `retryable`. Any other error becomes an
 * `Error` with the original name, `code` and `retryable`, as the agent saw it when it pulled in process.
 */
export function deserializeError(serialized: SerializedError): Error {
  const options = serialized.cause ? { cause: deserializeError(serialized.cause) } : undefined;
  if (serialized.name === 'RegistryError') {
    return new imageErrors.RegistryError(serialized.message, serialized.status, { ...options, retryable: serialized.retryable === true });
  }
  const ImageErrorClass = IMAGE_ERROR_CLASSES.get(serialized.name);
  if (ImageErrorClass) return new ImageErrorClass(serialized.message, options);

  const error = new Error(serialized.message, options) as Error & { retryable?: boolean; code?: string };
  error.name = serialized.name;
  if (serialized.retryable !== undefined) error.retryable = serialized.retryable;
  if (serialized.code !== undefined) error.code = serialized.code;
  return error;
}
