import { strict as assert } from 'node:assert';

import { editDistance, suggest } from './suggest';

describe('editDistance', () => {
  const cases: Array<[a: string, b: string, distance: number]> = [
    ['', '', 0],
    ['abc', 'abc', 0],
    ['MachineMetdata', 'MachineMetadata', 1],
    ['Imgae', 'Image', 1],
    ['kitten', 'sitting', 3],
    ['', 'abc', 3],
  ];
  for (const [a, b, distance] of cases) {
    it(`measures ${JSON.stringify(a)} to ${JSON.stringify(b)} as ${distance}`, () => assert.equal(editDistance(a, b), distance));
  }
});

describe('suggest', () => {
  const keys = ['Image', 'Exec', 'MachineMetadata', 'MachineOf', 'MachineID'];
  const cases: Array<[word: string, expected: string | undefined]> = [
    ['MachineMetdata', 'MachineMetadata'],
    ['machineof', 'MachineOf'],
    ['Imag', 'Image'],
    ['Exce', 'Exec'],
    ['Foo', undefined],
    ['Volume', undefined],
    ['x'.repeat(2000), undefined],
  ];
  for (const [word, expected] of cases) {
    it(`suggests ${expected ?? 'nothing'} for ${word.slice(0, 20)}`, () => assert.equal(suggest(word, keys), expected));
  }
});
