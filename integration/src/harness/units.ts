/** Options of a test unit; every unit runs a busybox image from the cluster's registry. */
export interface TestUnitOptions {
  image: string;
  exec?: string;
  fleet?: string[];
  container?: string[];
  service?: string[];
  description?: string;
}

/** Writes unit file text for a test, with one `Key=value` line per entry. */
export function unitText(options: TestUnitOptions): string {
  const lines = ['[Unit]', `Description=${options.description ?? 'integration test unit'}`, ''];
  if (options.fleet && options.fleet.length > 0) lines.push('[X-Fleet]', ...options.fleet, '');
  lines.push('[Container]', `Image=${options.image}`);
  if (options.exec) lines.push(`Exec=${options.exec}`);
  lines.push(...(options.container ?? []), '');
  lines.push('[Service]', ...(options.service ?? ['Restart=always', 'RestartSec=1s']), '');
  return lines.join('\n');
}

/** A command that runs until stopped and prints a line now and then. */
export const SLEEPER_EXEC = "/bin/sh -c 'echo started; while true; do sleep 1; done'";
