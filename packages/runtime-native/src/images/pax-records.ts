import { HostileLayerError, InternalImageError } from './errors';

/** The PAX records of one entry: key (UTF-8 text) to raw value bytes. */
export type PaxRecords = Map<string, Buffer>;

/** The part of tar-stream's extractor this module hooks into (tar-stream 3.x, extract.js). */
interface ExtractInternals {
  _header?: { type?: string | null } | null;
  _decodeLongHeader?: (buf: Buffer) => void;
}

/**
 * Parses a PAX extended header body (`LEN KEY=VALUE\n` records, LEN counting the whole record in
 * bytes) and keeps each value as raw bytes. Binary xattr values such as `security.capability` are
 * stored unescaped, so only LEN delimits them. Throws HostileLayerError for an invalid record.
 */
export function parsePaxRecords(body: Buffer, where: string): PaxRecords {
  const records: PaxRecords = new Map();
  let offset = 0;
  while (offset < body.length) {
    // NUL bytes after the last record are padding, not a record.
    if (body[offset] === 0) break;
    const space = body.indexOf(0x20, offset);
    const lengthText = space < 0 ? '' : body.toString('latin1', offset, space);
    const length = /^[1-9]\d{0,8}$/.test(lengthText) ? Number(lengthText) : NaN;
    const end = offset + length;
    if (!Number.isInteger(length) || end > body.length || end <= space + 1 || body[end - 1] !== 0x0a) {
      throw new HostileLayerError(`${where}: invalid PAX record at byte ${offset} of an extended header (its length prefix or final newline is wrong)`);
    }
    const record = body.subarray(space + 1, end - 1);
    const equals = record.indexOf(0x3d);
    if (equals <= 0) throw new HostileLayerError(`${where}: invalid PAX record at byte ${offset} of an extended header (missing "KEY=")`);
    records.set(record.toString('utf8', 0, equals), Buffer.from(record.subarray(equals + 1)));
    offset = end;
  }
  return records;
}

/**
 * Captures the raw PAX records that tar-stream's extractor reads, so the applier gets value bytes
 * instead of UTF-8 text. It wraps the extractor's `_decodeLongHeader`, which receives every extended
 * header body before tar-stream decodes it. The applier compares the raw records with `header.pax`
 * for every key it uses, so a tar-stream change that breaks this hook fails instead of attaching
 * values to the wrong entry.
 */
export class PaxCapture {
  private global: PaxRecords | undefined;
  private local: PaxRecords | undefined;

  /** Hooks `extractor`. Throws InternalImageError when tar-stream no longer has the hook point. */
  constructor(extractor: object, private readonly where: string) {
    const internals = extractor as ExtractInternals;
    const original = internals._decodeLongHeader;
    if (typeof original !== 'function') {
      throw new InternalImageError('the installed tar-stream has no _decodeLongHeader; raw PAX values cannot be read (expected tar-stream 3.x)');
    }
    const capture = (type: string | null | undefined, body: Buffer) => {
      if (type === 'pax-header') this.local = parsePaxRecords(body, this.where);
      else if (type === 'pax-global-header') this.global = parsePaxRecords(body, this.where);
    };
    internals._decodeLongHeader = function (this: ExtractInternals, body: Buffer) {
      capture(this._header?.type, body);
      return original.call(this, body);
    };
  }

  /**
   * Returns the records of the entry tar-stream just emitted and clears them. As in tar-stream, an
   * entry gets the global records only when it has an extended header of its own.
   */
  take(): PaxRecords | undefined {
    const local = this.local;
    this.local = undefined;
    if (!local) return undefined;
    return new Map([...(this.global ?? []), ...local]);
  }
}
