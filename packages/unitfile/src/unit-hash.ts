import { createHash } from 'node:crypto';

import type { UnitFileDocument } from './types';

/**
 * Serialize options the way fleet stores a unit: sections in the order they first appear, each
 * section's options in file order under one `[Section]` header, `Name=Value` lines, and one
 * blank line between sections. Comments, blank lines and spacing around `=` do not survive, so
 * two files that differ only in those serialize identically. A document without options
 * serializes to the empty string.
 */
export function serializeUnitFile(document: UnitFileDocument): string {
  const bySection = new Map<string, string[]>();
  for (const option of document.options) {
    const lines = bySection.get(option.section) ?? [];
    lines.push(`${option.name}=${option.value}\n`);
    bySection.set(option.section, lines);
  }
  const blocks = [...bySection].map(([section, lines]) => `[${section}]\n${lines.join('')}`);
  return blocks.join('\n');
}

/**
 * Content identity of a unit: hex SHA-1 of {@link serializeUnitFile}, equal to fleet's unit hash
 * for the same options. Option order matters; formatting does not.
 */
export function unitHash(document: UnitFileDocument): string {
  return createHash('sha1').update(serializeUnitFile(document), 'utf8').digest('hex');
}
