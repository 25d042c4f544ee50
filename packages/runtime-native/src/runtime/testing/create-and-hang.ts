/*
 * Child process for the "containers outlive their creator" test: creates and starts a container
 * from the bundle, prints "ready PID SERVER_PID" (the container's init and the helper server),
 * then waits to be killed.
 * Usage: node create-and-hang.js RUN_DIR ID BUNDLE
 */
import { nativeRuntime } from '../native';
import { Runtime } from '../runtime';

async function main(): Promise<void> {
  const [runDir, id, bundle] = process.argv.slice(2);
  const runtime = new Runtime({ runDir });
  const state = await runtime.run(id, bundle, {});
  process.stdout.write(`ready ${state.pid} ${nativeRuntime().helperServerPid()}\n`);
  setInterval(() => undefined, 60_000);
}

main().catch((error: Error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
