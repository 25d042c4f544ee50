/**
 * One cold pull in a new Node process, the way the agent's pull process runs it: it loads only the
 * image store module, pulls one reference into a store under STATE_DIR and exits. Before exiting
 * it prints its CPU time (user + system of all its threads, from its start up to that point) as
 * JSON on stdout. The pull benchmark starts it once per run.
 *
 * Usage: node bench/dist/pull-new-process.js REFERENCE STATE_DIR
 */
import { ImageStore } from '@berth/runtime-native/dist/images/image-store';

/** Exit status for wrong arguments. A failed pull exits with 1. */
const EXIT_USAGE = 2;

/** Output on stdout after a successful pull. */
export interface NewProcessPullReport {
  cpuMs: number;
}

async function main(): Promise<void> {
  const [reference, stateDir] = process.argv.slice(2);
  if (!reference || !stateDir) {
    process.stderr.write('usage: node pull-new-process.js REFERENCE STATE_DIR\n');
    process.exit(EXIT_USAGE);
  }
  await new ImageStore({ stateDir }).pull(reference);
  const cpu = process.cpuUsage();
  const report: NewProcessPullReport = { cpuMs: (cpu.user + cpu.system) / 1000 };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

// Exiting at once, as the agent's pull process does, skips waiting for idle sockets and timers.
main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`pull-new-process: ${error.message}\n`);
    process.exit(1);
  },
);
