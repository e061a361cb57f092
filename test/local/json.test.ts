/** The runtime's JSON writer: JSON.stringify's output, at any depth. */
import { stringifyJson } from '../../lambdas/core/json';

const DEPTH = 10_000;
const deep = JSON.parse(`${'['.repeat(DEPTH)}{"a":1}${']'.repeat(DEPTH)}`) as unknown;

test('a value nested 10,000 deep is written (JSON.stringify overflows the stack on it)', () => {
  expect(() => JSON.stringify(deep)).toThrow(RangeError);
  expect(stringifyJson(deep)).toBe(`${'['.repeat(DEPTH)}{"a":1}${']'.repeat(DEPTH)}`);
});

test.each<[string, unknown]>([
  ['objects, arrays and every scalar', { a: [1, { b: null, c: 'x', d: [], e: {} }], n: -0.5, t: true }],
  ['characters that need escaping and above U+FFFF', { s: '"\\\n\u2028 shipped 📦' }],
  ['undefined and functions (left out of objects, null in arrays)', { u: undefined, f: () => 1, list: [undefined, () => 1, 2] }],
  ['toJSON (dates)', { when: new Date(0) }],
  ['boxed primitives', [new Number(1), new String('s'), new Boolean(false)]],
])('beside a deep value, %s are written exactly as JSON.stringify writes them', (_name, value) => {
  // Next to a deep value the iterative writer does the whole job.
  expect(stringifyJson([deep, value])).toBe(`[${stringifyJson(deep)},${JSON.stringify(value)}]`);
});

test('a circular structure is refused as JSON.stringify refuses it', () => {
  const loop: Record<string, unknown> = { deep };
  loop.self = loop;
  expect(() => stringifyJson(loop)).toThrow(TypeError);
});
