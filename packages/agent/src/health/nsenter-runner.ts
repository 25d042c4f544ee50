import { spawn } from 'node:child_process';
import { ContainerCommandRunner, ProbeTarget } from './probes';

const NSENTER = '/usr/bin/nsenter';
const MAX_OUTPUT_BYTES = 4096;

/**
 * Runs health commands inside a container as the container's user, by entering its namespaces with
 * util-linux `nsenter`: mount, UTS, IPC, network, PID and cgroup, plus the target's root and working
 * directory. The runtime has no exec of its own.
 * NOTE: the command joins the container's namespaces but not its cgroup or seccomp filter, so its
 * memory counts against the agent's cgroup, and as root it keeps the agent's capabilities.
 */
export class NsenterCommandRunner implements ContainerCommandRunner {
  run(target: ProbeTarget, args: string[], timeoutMs: number): Promise<{ exitCode: number | null; output: string }> {
    const credentials = target.user;
    const nsenterArgs = ['--target', String(target.pid), '--mount', '--uts', '--ipc', '--net', '--pid', '--cgroup', '--root', '--wd'];
    if (credentials) nsenterArgs.push('--setuid', String(credentials.uid), '--setgid', String(credentials.gid));
    return new Promise((resolve) => {
      const child = spawn(NSENTER, [...nsenterArgs, '--', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' } });
      let output = '';
      const keep = (chunk: Buffer) => {
        if (output.length < MAX_OUTPUT_BYTES) output += chunk.toString('utf8');
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.once('error', (error) => {
        clearTimeout(timer);
        resolve({ exitCode: 127, output: `cannot run ${NSENTER}: ${error.message}` });
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ exitCode: timedOut ? null : (code ?? 128), output });
      });
    });
  }
}
