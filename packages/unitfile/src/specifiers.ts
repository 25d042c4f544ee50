import type { UnitNameInfo } from './types';

/** Identity of the machine a unit runs on, needed only for `%H` and `%m`. */
export interface MachineIdentity {
  hostname: string;
  machineId: string;
}

/** Result of expanding one value. */
export interface Expansion {
  text: string;
  /** Specifiers left in place because their value is not known yet (`%H`, `%m`, or `%i` in a template). */
  pending: string[];
  /** Specifiers that neither Berth nor fleet define, kept verbatim. */
  unknown: string[];
}

/**
 * Expand the systemd specifiers Berth supports: `%n` full name, `%N` name without suffix
 * (not unescaped, as in fleet), `%p` prefix, `%i` instance, `%I` instance unescaped, `%H`
 * hostname, `%m` machine id and `%%` for a literal `%`. `%H` and `%m` are expanded only when a
 * machine is given. In a template, `%i` and `%I` are left for instantiation. Specifiers left in
 * place for either reason are returned in `pending`. Other specifiers are kept verbatim and returned in `unknown`.
 */
export function expandSpecifiers(text: string, info: UnitNameInfo, machine?: MachineIdentity): Expansion {
  const pending: string[] = [];
  const unknown: string[] = [];
  const expanded = text.replace(/%(.?)/gs, (whole, letter: string) => {
    const value = specifierValue(letter, info, machine);
    if (value !== undefined) {
      return value;
    }
    (PENDING_LETTERS.includes(letter) ? pending : unknown).push(whole);
    return whole;
  });
  return { text: expanded, pending, unknown };
}

const PENDING_LETTERS = ['H', 'm', 'i', 'I'];

function specifierValue(letter: string, info: UnitNameInfo, machine?: MachineIdentity): string | undefined {
  switch (letter) {
    case '%':
      return '%';
    case 'n':
      return info.name;
    case 'N':
      return info.name.slice(0, info.name.length - info.suffix.length - 1);
    case 'p':
      return info.prefix;
    case 'i':
      return info.isTemplate ? undefined : info.instance;
    case 'I':
      return info.isTemplate ? undefined : unescapeUnitText(info.instance);
    case 'H':
      return machine?.hostname;
    case 'm':
      return machine?.machineId;
    default:
      return undefined;
  }
}

/** Undo systemd's name escaping: `-` stands for `/` and `\xNN` for the byte NN. */
export function unescapeUnitText(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text[i] === '\\' && text[i + 1] === 'x' ? text.slice(i + 2, i + 4) : '';
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 3;
    } else if (text[i] === '-') {
      bytes.push(0x2f);
    } else {
      bytes.push(...Buffer.from(text[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
