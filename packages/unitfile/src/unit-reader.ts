import { splitWords } from './command-line';
import { DiagnosticSink } from './diagnostic';
import { joinContinuationLines } from './parser';
import { expandSpecifiers, type MachineIdentity } from './specifiers';
import type { UnitFileDocument, UnitNameInfo, UnitOption } from './types';

/** One option's value as the interpreters see it: continuation lines joined, specifiers expanded. */
export interface OptionValue {
  option: UnitOption;
  /** Continuation lines joined as systemd runs them, specifiers not yet expanded. */
  joined: string;
  /** `joined` with specifiers expanded. */
  text: string;
  /** True when the text still contains `%i`, `%H` or `%m`, whose values are known only later. */
  pending: boolean;
  /** True when the value uses `%H` or `%m`, whether or not a machine was given to expand them. */
  usesMachine: boolean;
}

/**
 * Read access to a parsed unit for the section interpreters, with diagnostics placed at the
 * option they concern.
 */
export class UnitReader {
  // Values are expanded once so a warning about a specifier is not repeated per read.
  private readonly expanded = new Map<UnitOption, OptionValue>();

  constructor(
    readonly document: UnitFileDocument,
    readonly sink: DiagnosticSink,
    readonly nameInfo: UnitNameInfo,
    private readonly machine?: MachineIdentity,
  ) {}

  /** Return every value of `section`/`key` in file order. */
  values(section: string, key: string): OptionValue[] {
    return this.document.options
      .filter((option) => option.section === section && option.name === key)
      .map((option) => this.expand(option));
  }

  /**
   * Return the value of a single-valued key. The last assignment wins, as in systemd, and a
   * warning marks each earlier one as overridden.
   */
  last(section: string, key: string): OptionValue | undefined {
    const all = this.values(section, key);
    const winner = all.at(-1);
    for (const earlier of all.slice(0, -1)) {
      this.warning(earlier, `${key}= is set again on line ${winner?.option.line}, which overrides this value`);
    }
    return winner;
  }

  /**
   * Return the values of a list key. An empty assignment clears the entries before it, as systemd does for
   * list settings.
   */
  list(section: string, key: string): OptionValue[] {
    const result: OptionValue[] = [];
    for (const value of this.values(section, key)) {
      if (value.text.trim() === '') {
        result.length = 0;
      } else {
        result.push(value);
      }
    }
    return result;
  }

  /**
   * Split a value into words with systemd's quoting, then expand specifiers in each word. An
   * escape systemd does not know (`\d`) stays verbatim with a warning, as systemd keeps it.
   * @throws InvalidValueError for unbalanced quotes and, with `rejectSeparator`, a lone `;`
   */
  splitValue(value: OptionValue, kind: string, rejectSeparator = false): string[] {
    const unknown = new Set<string>();
    const onUnknownEscape = (escape: string): void => {
      unknown.add(escape);
    };
    const words = splitWords(value.joined, { kind, rejectSeparator, onUnknownEscape });
    for (const escape of unknown) {
      this.warning(value, `${value.option.name}= contains "${escape}", which is not a known escape and is kept as written; write "\\\\" for a literal backslash`);
    }
    return words.map((word) => this.expandWord(word));
  }

  /**
   * Expand specifiers in one word of an already split value. systemd splits command lines
   * before it expands specifiers, so a backslash in an instance name stays literal.
   */
  expandWord(word: string): string {
    return expandSpecifiers(word, this.nameInfo, this.machine).text;
  }

  error(value: OptionValue, message: string): void {
    this.sink.error(value.option.line, value.option.valueColumn ?? 1, message);
  }

  warning(value: OptionValue, message: string): void {
    this.sink.warning(value.option.line, value.option.valueColumn ?? 1, message);
  }

  /** Report `error.message` for a value parser's failure. */
  errorFrom(value: OptionValue, key: string, error: unknown): void {
    const detail = error instanceof Error ? error.message : String(error);
    this.error(value, `${key}: ${detail}`);
  }

  private expand(option: UnitOption): OptionValue {
    const cached = this.expanded.get(option);
    if (cached !== undefined) {
      return cached;
    }
    const joined = joinContinuationLines(option.value);
    const expansion = expandSpecifiers(joined, this.nameInfo, this.machine);
    // Expanding without a machine shows whether the value depends on one.
    const withoutMachine = expandSpecifiers(joined, this.nameInfo);
    const usesMachine = withoutMachine.pending.some((specifier) => specifier === '%H' || specifier === '%m');
    const value = { option, joined, text: expansion.text, pending: expansion.pending.length > 0, usesMachine };
    for (const specifier of new Set(expansion.unknown)) {
      this.warning(
        value,
        `${option.name}= contains "${specifier}", which is not a specifier Berth expands; it is kept as written (write "%%" for a literal "%")`,
      );
    }
    this.expanded.set(option, value);
    return value;
  }
}
