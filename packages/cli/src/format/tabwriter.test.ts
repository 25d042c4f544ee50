import { strict as assert } from 'node:assert';
import { formatColumns, visibleWidth } from './tabwriter';

// Expected strings follow Go's text/tabwriter with minwidth 0, tabwidth 8, padding 1, padchar '\t',
// the settings fleetctl uses for its tables.
describe('formatColumns', () => {
  const cases: { name: string; rows: string[][]; expected: string }[] = [
    {
      name: 'pads to the next tab stop past the widest cell',
      rows: [['UNIT', 'MACHINE'], ['web.service', '4c9c3d0a.../10.88.0.2']],
      expected: 'UNIT\t\tMACHINE\nweb.service\t4c9c3d0a.../10.88.0.2\n',
    },
    {
      name: 'seven characters fit one tab stop',
      rows: [['1234567', 'x'], ['a', 'y']],
      expected: '1234567\tx\na\ty\n',
    },
    {
      name: 'eight characters need a second tab stop',
      rows: [['12345678', 'x'], ['a', 'y']],
      expected: '12345678\tx\na\t\ty\n',
    },
    {
      name: 'last column is not padded',
      rows: [['a', 'b', 'long last cell'], ['c', 'd', 'e']],
      expected: 'a\tb\tlong last cell\nc\td\te\n',
    },
    { name: 'no rows gives no output', rows: [], expected: '' },
    {
      name: 'colour escapes take no width',
      rows: [['\x1b[32mactive\x1b[0m', 'x'], ['1234567', 'y']],
      expected: '\x1b[32mactive\x1b[0m\tx\n1234567\ty\n',
    },
  ];
  for (const { name, rows, expected } of cases) {
    it(name, () => assert.equal(formatColumns(rows), expected));
  }

  it('counts code points, not UTF-16 units', () => {
    assert.equal(visibleWidth('日本'), 2);
    assert.equal(visibleWidth('😀'), 1);
  });
});
