/**
 * Column layout compatible with fleetctl's tables, which go through Go's text/tabwriter with
 * minimum width 0, tab width 8, padding 1 and tab as the padding character. Every cell but the
 * last in a row is padded with tab characters to the next tab stop past its column's widest cell,
 * so `cut -f1` and `awk` scripts written for fleetctl keep working.
 */

const TAB_WIDTH = 8;
const PADDING = 1;
// Colour escapes take no room on the terminal, so they are left out when measuring a cell.
const ANSI_ESCAPE = /\x1b\[[0-9;]*m/g;

/** Returns the number of terminal cells `text` takes, counting code points and ignoring colour. */
export function visibleWidth(text: string): number {
  return [...text.replace(ANSI_ESCAPE, '')].length;
}

/** Lays out `rows` (header first, if any) as tab-padded columns, one line per row. */
export function formatColumns(rows: string[][]): string {
  const widths = columnWidths(rows);
  return rows
    .map((row) =>
      row
        .map((cell, index) => (index === row.length - 1 ? cell : cell + padding(visibleWidth(cell), widths[index])))
        .join(''),
    )
    .map((line) => `${line}\n`)
    .join('');
}

function columnWidths(rows: string[][]): number[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, index) => {
      widths[index] = Math.max(widths[index] ?? 0, visibleWidth(cell) + PADDING);
    });
  }
  return widths;
}

function padding(textWidth: number, columnWidth: number): string {
  const cellWidth = Math.ceil(columnWidth / TAB_WIDTH) * TAB_WIDTH;
  return '\t'.repeat(Math.ceil((cellWidth - textWidth) / TAB_WIDTH));
}
