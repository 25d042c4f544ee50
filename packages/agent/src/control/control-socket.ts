import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { createConnection, createServer, Server } from 'node:net';
import { dirname, join } from 'node:path';

/** `RUN_DIR/agent.sock`, the control socket of a running agent (root only: mode 0600). */
export function controlSocketPath(runDir: string): string {
  return join(runDir, 'agent.sock');
}

/** Commands the socket accepts, one per connection, as a line of text. */
export type ControlCommand = 'drain' | 'status';

/**
 * Serves the control socket. Each connection sends one command line; the handler's lines are
 * written back and the connection is closed when it resolves.
 */
export class ControlServer {
  private server: Server | undefined;

  constructor(
    private readonly path: string,
    private readonly handler: (command: ControlCommand, reply: (line: string) => void) => Promise<void>,
  ) {}

  async listen(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o755 });
    // A socket file left by a killed agent would make listen fail with EADDRINUSE.
    if (existsSync(this.path)) rmSync(this.path, { force: true });
    const server = createServer((socket) => {
      let buffered = '';
      socket.on('data', (chunk) => {
        buffered += chunk.toString('utf8');
        const newline = buffered.indexOf('\n');
        if (newline < 0) return;
        const command = buffered.slice(0, newline).trim();
        socket.removeAllListeners('data');
        if (command !== 'drain' && command !== 'status') {
          socket.end(`error: unknown command "${command}"; expected drain or status\n`);
          return;
        }
        this.handler(command, (line) => socket.write(`${line}\n`))
          .then(() => socket.end())
          .catch((error: Error) => socket.end(`error: ${error.message}\n`));
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path: this.path }, () => resolve());
    });
    chmodSync(this.path, 0o600);
    this.server = server;
  }

  close(): void {
    this.server?.close();
    rmSync(this.path, { force: true });
  }
}

/**
 * Sends one command to a running agent and calls `onLine` for each reply line. Throws when no agent
 * listens at `path`.
 */
export function sendControlCommand(path: string, command: ControlCommand, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path });
    let buffered = '';
    socket.on('connect', () => socket.write(`${command}\n`));
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      lines.forEach(onLine);
    });
    socket.on('end', () => {
      if (buffered !== '') onLine(buffered);
      resolve();
    });
    socket.on('error', (error) => reject(new Error(`cannot reach the agent at ${path}: ${error.message}; is berth-agent running with this --run-dir?`)));
  });
}
