/**
 * Events with deeply nested extra fields: valid ones are delivered (the extra field is never
 * walked), invalid ones are parked with their exact bytes (lambdas/core/json.ts writes any depth).
 */
import { fanOut } from '../../lambdas/core/route-event';
import { stringifyJson } from '../../lambdas/core/json';
import { parseJob } from '../../lambdas/core/job';
import { toSqsJson } from '../../lambdas/core/sqs-text';
import { DLQ, fakeSqs, fanOutPortsOver } from './fake-sqs';

let sqs: ReturnType<typeof fakeSqs>;
beforeEach(() => {
  sqs = fakeSqs();
});
afterEach(() => sqs.mock.restore());

const ports = () => fanOutPortsOver(sqs.client);

/** `[[[…{"a":"\uFFFE"}…]]]` nested `depth` deep, as JSON text. */
const deepText = (depth: number) => `${'['.repeat(depth)}{"a":"x\uFFFE"}${']'.repeat(depth)}`;

/** An event as JSON text, so the expected bytes are known without serializing the deep value. */
function eventText(detail: string, depth: number): string {
  return `{"version":"0","id":"evt-deep","detail-type":"sales_order.status.changed","source":"shop","time":"2026-11-28T09:59:00Z","detail":{${detail},"extra":${deepText(depth)}}}`;
}

const VALID = '"tenantId":"acme","oldStatus":"open","newStatus":"shipped","salesOrder":{"uuid":"u-1","number":"1001","externalId":null}';
const INVALID = '"tenantId":"acme","oldStatus":"open","salesOrder":{"uuid":"u-1"}';

describe.each([10_000, 100_000])('an event with a %i-deep extra field', (depth) => {
  it('JSON.stringify cannot write it (why the iterative writer exists)', () => {
    expect(() => JSON.stringify(JSON.parse(deepText(depth)))).toThrow(RangeError);
  });

  it('valid: delivered, without the extra field', async () => {
    const result = await fanOut(JSON.parse(eventText(VALID, depth)), ports());
    expect(result).toMatchObject({ status: 'queued', eventId: 'evt-deep' });
    const [job] = sqs.sent.map((m) => parseJob(m.body));
    expect(JSON.parse(job!.body)).toEqual({ event: 'sales_order.status.changed', oldStatus: 'open', newStatus: 'shipped', salesOrder: { number: '1001', uuid: 'u-1', externalId: null } });
  });

  it('invalid: parked with the reason, the event byte for byte (only U+FFFE written as \\ufffe)', async () => {
    const text = eventText(INVALID, depth);
    const result = await fanOut(JSON.parse(text), ports());
    expect(result).toEqual({ status: 'rejected', reason: expect.stringContaining('detail.newStatus') });
    expect(sqs.refused).toEqual([]);
    const [message] = sqs.sent;
    expect(message!.queueUrl).toBe(DLQ);
    const reason = (result as { reason: string }).reason;
    expect(message!.body).toBe(`{"kind":"rejected-event","reason":${JSON.stringify(reason)},"rejectedAt":"2026-11-28T10:00:00.000Z","event":${text.replace('\uFFFE', '\\ufffe')}}`);
  });
});

describe('stringifyJson (lambdas/core/json.ts)', () => {
  const deep = JSON.parse(`${'['.repeat(100_000)}{"a":1}${']'.repeat(100_000)}`) as unknown;
  const deepObjects = JSON.parse(`${'{"k":'.repeat(10_000)}null${'}'.repeat(10_000)}`) as unknown;

  it('writes 100,000-deep arrays and 10,000-deep objects exactly', () => {
    expect(stringifyJson(deep)).toBe(`${'['.repeat(100_000)}{"a":1}${']'.repeat(100_000)}`);
    expect(stringifyJson(deepObjects)).toBe(`${'{"k":'.repeat(10_000)}null${'}'.repeat(10_000)}`);
  });

  it.each<[string, unknown]>([
    ['objects, arrays and every scalar', { a: [1, { b: null, c: 'x', d: [], e: {} }], n: -0.5, t: true, f: false, big: 1e21, nan: NaN }],
    ['characters that need escaping, lone surrogates and above U+FFFF', { s: '"\\\n\u0001\u2028\uD800 📦\uFFFF' }],
    ['undefined, functions and symbols (left out of objects, null in arrays)', { u: undefined, f: () => 1, y: Symbol('s'), list: [undefined, () => 1, Symbol('s'), 2] }],
    ['toJSON (dates), also returning undefined', { when: new Date(0), gone: { toJSON: () => undefined }, kept: { toJSON: (key: string) => `key ${key}` } }],
    ['boxed primitives', [new Number(1), new String('s'), new Boolean(false)]],
    ['keys that need escaping', { 'a"b': 1, '\uFFFF': 2, '': 3 }],
  ])('beside a deep value, writes %s exactly as JSON.stringify does', (_name, value) => {
    // Next to a deep value the iterative writer does the whole job.
    const expected = `[${'['.repeat(100_000)}{"a":1}${']'.repeat(100_000)},${JSON.stringify(value)}]`;
    expect(stringifyJson([deep, value])).toBe(expected);
  });

  it('refuses a circular structure as JSON.stringify does', () => {
    const loop: Record<string, unknown> = { deep };
    loop.self = loop;
    expect(() => stringifyJson(loop)).toThrow(TypeError);
  });

  it('toSqsJson of a deep value parses back to the same text', () => {
    const text = toSqsJson(JSON.parse(deepText(10_000)));
    expect(text).toBe(deepText(10_000).replace('\uFFFE', '\\ufffe'));
  });
});
