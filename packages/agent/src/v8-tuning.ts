import { setFlagsFromString } from 'node:v8';

/**
 * V8 settings of the agent daemon. `main.js` applies them before it loads the rest of the agent, so
 * they apply however the agent is started (the `berth-agent` bin, `node .../main.js`, a unit file).
 *
 * The optimizing compiler (TurboFan) is turned off. It compiles hot functions on V8's worker
 * threads, and glibc keeps the memory that those compilations free in the threads' malloc arenas.
 * With 50 containers the agent kept about 15 MB there (arena sizes read with gdb), and turning
 * TurboFan off lowered its RSS from 80-87 MiB to 73-74 MiB in bench/agent-memory. The cost measured
 * there is 10-15% more CPU time to start 50 containers and about 15% more while they run (6.2 ms
 * per second instead of 5.4).
 */
export const DAEMON_V8_FLAGS = ['--no-turbofan'];

/** Flags by which the operator chooses the compiler tiers, which the agent then leaves alone. */
const COMPILER_CHOICE = /^--(no-)?(turbofan|opt|jitless|lite-mode)(=|$)/;

/**
 * Returns the V8 flags the agent sets for itself, given node's own command line (`process.execArgv`):
 * none when the operator passed a compiler choice such as `node --turbofan main.js`.
 */
export function daemonV8Flags(execArgv: readonly string[]): string[] {
  return execArgv.some((arg) => COMPILER_CHOICE.test(arg.replace(/_/g, '-'))) ? [] : [...DAEMON_V8_FLAGS];
}

/** Sets the daemon's V8 flags in this process. Call it before loading the agent's modules. */
export function applyDaemonV8Flags(execArgv: readonly string[] = process.execArgv): void {
  for (const flag of daemonV8Flags(execArgv)) setFlagsFromString(flag);
}
