import { join } from 'node:path';
import { LogFollower } from './log-follower';
import { journalExists, readLastLines } from './unit-log';

/** LogChunk as the agent sends it. */
export interface LogChunkMessage {
  requestId: string;
  lines: string[];
  eof: boolean;
  error: string;
}

/** Lines per LogChunk, so one message stays well below gRPC's 4 MiB default limit. */
export const LOG_CHUNK_LINES = 500;
/** Upper bound of `lines` in one request. */
export const MAX_REQUESTED_LINES = 100_000;

/**
 * Serves the scheduler's LogRequests from the unit journals: the last N lines, then, with
 * `follow`, new lines until CancelLogRequest. Unknown units get a chunk with `error` set.
 */
export class LogRequests {
  private readonly follows = new Map<string, LogFollower>();

  constructor(
    private readonly logsDir: string,
    /** Returns false when the stream is down; a follow then ends. */
    private readonly send: (chunk: LogChunkMessage) => boolean,
  ) {}

  handle(request: { requestId: string; unit: string; lines: number; follow: boolean }): void {
    const dir = join(this.logsDir, request.unit);
    if (request.unit.includes('/') || request.unit.startsWith('.') || !journalExists(dir)) {
      this.send({ requestId: request.requestId, lines: [], eof: true, error: `no journal for unit "${request.unit}" on this machine` });
      return;
    }
    const lines = readLastLines(dir, Math.min(request.lines, MAX_REQUESTED_LINES));
    for (let start = 0; start < lines.length; start += LOG_CHUNK_LINES) {
      const last = start + LOG_CHUNK_LINES >= lines.length;
      this.send({ requestId: request.requestId, lines: lines.slice(start, start + LOG_CHUNK_LINES), eof: last && !request.follow, error: '' });
    }
    if (!request.follow) {
      if (lines.length === 0) this.send({ requestId: request.requestId, lines: [], eof: true, error: '' });
      return;
    }
    const follower = new LogFollower(dir, (newLines) => {
      if (this.send({ requestId: request.requestId, lines: newLines, eof: false, error: '' })) return;
      follower.stop();
      this.follows.delete(request.requestId);
    });
    this.follows.set(request.requestId, follower);
    follower.start();
  }

  cancel(requestId: string): void {
    const follower = this.follows.get(requestId);
    if (!follower) return;
    follower.stop();
    this.follows.delete(requestId);
    this.send({ requestId, lines: [], eof: true, error: '' });
  }

  /** Ends every follow, because request ids of a lost stream mean nothing on a new one. */
  cancelAll(): void {
    for (const follower of this.follows.values()) follower.stop();
    this.follows.clear();
  }
}
