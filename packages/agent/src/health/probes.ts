import { request } from 'node:http';
import { connect } from 'node:net';
import type { HealthCheck } from '@berth/unitfile';

/** Result of one health probe. */
export interface ProbeResult {
  ok: boolean;
  /** Reason of the failure, or a short success note. */
  detail: string;
}

/** Runs a command inside a running container and returns its exit code. */
export interface ContainerCommandRunner {
  run(target: ProbeTarget, args: string[], timeoutMs: number): Promise<{ exitCode: number | null; output: string }>;
}

/** The container a probe checks, and its address and user. */
export interface ProbeTarget {
  containerId: string;
  pid: number;
  /** Container address in bridge mode; undefined for host networking (127.0.0.1 is used). */
  address?: string;
  /** The container process's user, which health commands run as. */
  user?: { uid: number; gid: number };
}

/** Maximum characters of probe output kept in a report. */
const MAX_DETAIL_CHARS = 200;

/** Runs the unit's probe once. Never throws: every failure is a failed result with the reason. */
export async function runProbe(check: HealthCheck, target: ProbeTarget, runner: ContainerCommandRunner): Promise<ProbeResult> {
  try {
    switch (check.kind) {
      case 'cmd':
        return await probeCommand(check, target, runner);
      case 'http':
        return await probeHttp(hostFor(check, target), check.port!, check.path ?? '/', check.timeoutMs);
      case 'tcp':
        return await probeTcp(hostFor(check, target), check.port!, check.timeoutMs);
    }
  } catch (error) {
    return { ok: false, detail: (error as Error).message.slice(0, MAX_DETAIL_CHARS) };
  }
}

function hostFor(check: HealthCheck, target: ProbeTarget): string {
  if (check.host !== undefined && check.host !== '') return check.host;
  return target.address ?? '127.0.0.1';
}

async function probeCommand(check: HealthCheck, target: ProbeTarget, runner: ContainerCommandRunner): Promise<ProbeResult> {
  const { exitCode, output } = await runner.run(target, check.target, check.timeoutMs);
  const tail = output.trim().slice(-MAX_DETAIL_CHARS);
  if (exitCode === 0) return { ok: true, detail: tail };
  const how = exitCode === null ? `timed out after ${check.timeoutMs} ms` : `exited with ${exitCode}`;
  return { ok: false, detail: `HealthCmd ${how}${tail ? `: ${tail}` : ''}` };
}

/** GET http://host:port/path; 2xx and 3xx are healthy, as in Kubernetes' HTTP probe. */
export function probeHttp(host: string, port: number, path: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, method: 'GET', timeout: timeoutMs, headers: { 'user-agent': 'berth-agent-health' } }, (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      resolve(status >= 200 && status < 400 ? { ok: true, detail: `HTTP ${status}` } : { ok: false, detail: `HealthHttp GET ${host}:${port}${path} returned HTTP ${status}` });
    });
    req.on('timeout', () => req.destroy(new Error(`HealthHttp GET ${host}:${port}${path} timed out after ${timeoutMs} ms`)));
    req.on('error', (error) => resolve({ ok: false, detail: error.message.startsWith('HealthHttp') ? error.message : `HealthHttp GET ${host}:${port}${path} failed: ${error.message}` }));
    req.end();
  });
}

/** Opens a TCP connection and closes it at once. */
export function probeTcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ok: false, detail: `HealthTcp ${host}:${port} timed out after ${timeoutMs} ms` });
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok: true, detail: 'connected' });
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      resolve({ ok: false, detail: `HealthTcp ${host}:${port} failed: ${error.message}` });
    });
  });
}
