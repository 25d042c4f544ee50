import { setFlagsFromString } from 'node:v8';

/**
 * V8 settings of the agent daemon. `main.js` applies them before it loads the rest of the agent, so
 * they apply however the agent is started (the `berth-agent` bin, `node .../main.js`, a unit file).
 *
 * The optimizing compiler (TurboFan) is turned off. It compiles hot functions on V8's worker
 * threads, and glibc keeps the memory that those compilations free in the threads' malloc arenas.
 * With 50 containers those threads kept 6-9 MB there with TurboFan and 0.5-3.5 MB without it (arena
 * sizes read with gdb), and the median RSS in bench/agent-memory fell from 84 to 76 MiB. The CPU
 * time there stayed within the spread between runs (about 2 s to start 50 containers, 5-6 ms per
 * second while they run).
 *
 * The baseline compiler (Sparkplug) is turned off too, so the agent's JavaScript runs in the
 * interpreter only. V8 does not flush Sparkplug's machine code (`--flush-baseline-code` is off by
 * default in V8 11.3), so the code compiled for the start-up burst stayed in the heap. With pulls
 * in their own process, one run of bench/agent-memory with `node --no-sparkplug` measured the
 * agent with 50 containers at 57.1 MiB RSS instead of 58.8-59.0 MiB, with the same CPU time.
 */
export const DAEMON_V8_FLAGS = ['--no-turbofan', '--no-sparkplug'];

/** Flags by which the operator chooses the compiler tiers, which the agent then leaves alone. */
const COMPILER_CHOICE = /^--(no-)?(turbofan|opt|sparkplug|jitless|lite-mode)(=|$)/;

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
