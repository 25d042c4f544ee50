import type { SchedulerClient } from '../api/client';
import type { CommandContext } from '../cli/context';
import { unitNameFromArgument } from '../units/unit-source';

/** fleetctl's default `journal --lines`. */
export const DEFAULT_JOURNAL_LINES = 10;

export interface JournalOptions {
  lines: number;
  follow?: boolean;
  json?: boolean;
  /** Machine id or 8-character prefix, for a unit that runs on several machines. */
  machine?: string;
}

/** One journal record as `--json` prints it. */
export interface JournalRecord {
  /** ISO 8601 time the agent recorded, or null for a line not in the `TIME STREAM TEXT` form. */
  time: string | null;
  /** `stdout` or `stderr`, or null for a line not in that form. */
  stream: string | null;
  message: string;
}

const RECORD_LINE = /^(\d{4}-\d{2}-\d{2}T\S+) (stdout|stderr) (.*)$/;

/**
 * `journal UNIT`: prints the last lines of the unit's log through the scheduler, which relays the
 * request to the unit's agent, and with `--follow` keeps printing new lines until interrupted.
 * With `--json` each line becomes one JSON object per line.
 */
export async function journalCommand(argument: string, options: JournalOptions, context: CommandContext): Promise<void> {
  const name = unitNameFromArgument(argument);
  const client = context.client();
  const journal = await client.openJournal(name, { lines: options.lines, follow: options.follow === true, machine: options.machine });
  if (options.machine === undefined) {
    // A Global unit runs on several machines, so name the machine this journal comes from.
    const machineIds = (await client.getUnit(name)).machineIds ?? [];
    if (machineIds.length > 1 && journal.machineId !== null) {
      context.io.stderr.write(`berthctl: showing ${name} on machine ${journal.machineId}; it runs on ${machineIds.length} machines, pick one with --machine ID\n`);
    }
  }
  for await (const line of readLines(journal.body)) {
    context.io.stdout.write(options.json === true ? `${JSON.stringify(parseJournalLine(line))}\n` : `${line}\n`);
  }
}

/** Splits a journal line `2026-12-04T21:00:00.000Z stdout hello` into its parts. */
export function parseJournalLine(line: string): JournalRecord {
  const match = RECORD_LINE.exec(line);
  if (match === null) return { time: null, stream: null, message: line };
  return { time: match[1], stream: match[2], message: match[3] };
}

/** Returns the last `lines` lines of the unit's journal. */
export async function readJournalTail(client: SchedulerClient, name: string, lines: number): Promise<string[]> {
  const journal = await client.openJournal(name, { lines, follow: false });
  const result: string[] = [];
  for await (const line of readLines(journal.body)) result.push(line);
  return result;
}

async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    yield* lines;
  }
  pending += decoder.decode();
  if (pending !== '') yield pending;
}
