/** Colouring of state words. Callers pass `enabled` false unless the output is a terminal. */

const RESET = '\x1b[0m';
const CODES = { red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m' } as const;

export type Colour = keyof typeof CODES;

/** Wraps `text` in the escape codes of `colour` when `enabled` is true. */
export function paint(text: string, colour: Colour | undefined, enabled: boolean): string {
  if (!enabled || colour === undefined || text === '') return text;
  return `${CODES[colour]}${text}${RESET}`;
}

/** Returns the colour of an active state, health or fleet state word, or undefined for neutral words. */
export function stateColour(word: string): Colour | undefined {
  switch (word) {
    case 'active':
    case 'running':
    case 'healthy':
    case 'launched':
      return 'green';
    case 'failed':
    case 'unhealthy':
      return 'red';
    case 'activating':
    case 'deactivating':
    case 'starting':
      return 'yellow';
    default:
      return undefined;
  }
}
