/**
 * Whatever characters an event holds, and however deep its extra fields nest, it ends queued or
 * parked: the fan-out function's real adapters (SqsJobQueue, SqsParkingLot) against a fake SQS
 * that refuses what SQS refuses.
 */
import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { SqsJobQueue, SqsParkingLot } from '../../lambdas/adapters/job-queue';
import { fanOut } from '../../lambdas/core/route-event';
import { stringifyJson } from '../../lambdas/core/json';
import { buildJob, parseJob, PARKED_ATTRIBUTES, type DeliveryJob } from '../../lambdas/core/job';
import { escapeUncarriable, FAILURE_RECORD_HEADROOM_BYTES, failureRecordRefusal, firstUncarriable, SQS_MAX_MESSAGE_BYTES, sqsSafeAttribute, toSqsText } from '../../lambdas/core/sqs-text';
import { redriveDeliveryDlq } from '../../cli/redrive';
import { DLQ, QUEUE, fakeSqs, fanOutPortsOver, sqsRefuses } from './fake-sqs';

let sqs: ReturnType<typeof fakeSqs>;
beforeEach(() => {
  sqs = fakeSqs();
});
afterEach(() => sqs.mock.restore());

const ports = () => fanOutPortsOver(sqs.client);

function busEvent(detail: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { version: '0', id: 'evt-1', 'detail-type': 'sales_order.status.changed', source: 'shop', time: '2026-11-28T09:59:00Z', detail, ...extra };
}

const validDetail = (overrides: Record<string, unknown> = {}, entity: Record<string, unknown> = {}) => ({
  tenantId: 'acme',
  oldStatus: 'open',
  newStatus: 'shipped',
  salesOrder: { uuid: 'u-1', number: '1001', externalId: null, ...entity },
  ...overrides,
});

const parkedRecords = () => sqs.sent.filter((m) => m.queueUrl === DLQ).map((m) => JSON.parse(m.body) as { kind: string; reason: string; event: unknown });
const queuedJobs = () => sqs.sent.filter((m) => m.queueUrl === QUEUE).map((m) => parseJob(m.body));

describe('the fake SQS', () => {
  it('refuses what SQS refuses, so the tests below mean something', () => {
    for (const c of ['\uFFFE', '\uFFFF', '\uD800', '\uDFFF', '\u0000', '\u0008', '\u000B', '\u001F']) expect(sqsRefuses(`a${c}b`)).not.toBeNull();
    for (const c of ['\t', '\n', '\r', ' ', '\uD7FF', '\uE000', '\uFFFD', '😀', '\u{10FFFF}']) expect(sqsRefuses(`a${c}b`)).toBeNull();
    // What the pipeline wrote before: JSON.stringify leaves U+FFFE and U+FFFF as they are.
    expect(sqsRefuses(JSON.stringify({ note: '\uFFFE' }))).not.toBeNull();
  });
});

describe('characters SQS refuses', () => {
  it('an invalid event with U+FFFE and a lone surrogate in an ignored field is parked, and its record parses back to the exact event', async () => {
    const event = busEvent({ tenantId: 'acme', oldStatus: 'open', salesOrder: { uuid: 'u-1' }, note: 'before\uFFFEafter\uD800', more: ['\uFFFF', { k: '\uFFFE\uFFFF\uDC00' }] });
    const result = await fanOut(event, ports());
    expect(result).toMatchObject({ status: 'rejected' });
    expect(sqs.refused).toEqual([]);
    const [record] = parkedRecords();
    expect(record!.kind).toBe('rejected-event');
    expect(record!.reason).toContain('detail.newStatus');
    expect(record!.event).toEqual(event);
    expect((record!.event as { detail: { note: string } }).detail.note).toBe('before\uFFFEafter\uD800');
  });

  it('a valid event with U+FFFF in newStatus is refused with a reason naming the field and code point, and parked', async () => {
    const event = busEvent(validDetail({ newStatus: 'ship\uFFFFped' }));
    const result = await fanOut(event, ports());
    expect(result).toEqual({ status: 'rejected', reason: expect.stringContaining('detail.newStatus: contains U+FFFF, a character webhooks cannot carry') });
    expect(queuedJobs()).toEqual([]);
    const [record] = parkedRecords();
    expect(record!.reason).toContain('detail.newStatus: contains U+FFFF, a character webhooks cannot carry');
    expect(record!.event).toEqual(event);
    expect(sqs.sent.find((m) => m.queueUrl === DLQ)!.attributes[PARKED_ATTRIBUTES.reason]!.StringValue).toContain('U+FFFF');
  });

  it.each([
    ['a lone high surrogate in uuid', {}, { uuid: 'u-\uD83D' }, 'detail.salesOrder.uuid: contains U+D83D (an unpaired surrogate), a character webhooks cannot carry'],
    ['a lone low surrogate in externalId', {}, { externalId: '\uDE00x' }, 'detail.salesOrder.externalId: contains U+DE00 (an unpaired surrogate)'],
    ['reversed surrogates in number', {}, { number: '\uDE00\uD83D' }, 'detail.salesOrder.number: contains U+DE00'],
    ['U+FFFE in tenantId', { tenantId: 'acme\uFFFE' }, {}, 'detail.tenantId: contains U+FFFE'],
    ['a NUL in oldStatus', { oldStatus: 'open\u0000' }, {}, 'detail.oldStatus: contains U+0000'],
    ['an escape character in newStatus', { newStatus: '\u001B[31mred' }, {}, 'detail.newStatus: contains U+001B'],
  ])('%s: refused with the reason and parked exactly', async (_name, overrides, entity, reason) => {
    const event = busEvent(validDetail(overrides, entity));
    await expect(fanOut(event, ports())).resolves.toMatchObject({ status: 'rejected', reason: expect.stringContaining(reason) });
    expect(sqs.refused).toEqual([]);
    expect(queuedJobs()).toEqual([]);
    expect(parkedRecords()[0]!.event).toEqual(event);
  });

  it.each([
    ['an emoji (U+1F600)', 'shipped 😀'],
    ['U+10FFFF', 'x\u{10FFFF}'],
    ['tab, LF and CR', 'a\tb\nc\rd'],
    ['U+FFFD and U+E000', '\uFFFD\uE000'],
  ])('%s in newStatus is accepted and queued with the exact characters', async (_name, status) => {
    const result = await fanOut(busEvent(validDetail({ newStatus: status })), ports());
    expect(result).toMatchObject({ status: 'queued' });
    const [job] = queuedJobs();
    expect(JSON.parse(job!.body).newStatus).toBe(status);
    expect(parkedRecords()).toEqual([]);
  });

  it('a detail-type with U+FFFF is parked; the reason attribute has it as the text \\uffff, the record body exactly', async () => {
    const event = busEvent(validDetail(), { 'detail-type': 'sales_order.status.changed\uFFFF' });
    await expect(fanOut(event, ports())).resolves.toMatchObject({ status: 'rejected' });
    const [message] = sqs.sent;
    expect(message!.attributes[PARKED_ATTRIBUTES.reason]!.StringValue).toContain('"sales_order.status.changed\\uffff"');
    expect(JSON.parse(message!.body).event).toEqual(event);
    expect(JSON.parse(message!.body).reason).toContain('"sales_order.status.changed\uFFFF"');
  });

  it('delivery-DLQ parking escapes the body and the reason attribute so SQS takes them', async () => {
    const job = buildJob(
      { eventId: 'evt-\uFFFF', event: 'sales_order.status.changed', entityKey: 'salesOrder', tenantId: 'acme', oldStatus: 'a', newStatus: 'b', entity: { uuid: 'u', number: null, externalId: null }, time: 't' },
      'sub_1',
      '{"x":1}',
    );
    const rawBody = JSON.stringify(job); // as a queue that does not check characters would hand it over
    await new SqsParkingLot(sqs.client, DLQ).parkJob(rawBody, 'HTTP 400: bad \uFFFE\uD800 text', 5, new Date('2026-11-28T10:00:00Z'));
    expect(sqs.refused).toEqual([]);
    const [message] = sqs.sent;
    expect(parseJob(message!.body)).toEqual(job);
    expect(message!.attributes[PARKED_ATTRIBUTES.reason]!.StringValue).toBe('HTTP 400: bad \\ufffe\\ud800 text');
  });

  it('queued jobs are written with the escaping, whatever a job holds', async () => {
    const job = buildJob(
      { eventId: '\uFFFE\uD800\u0001', event: 'sales_order.status.changed', entityKey: 'salesOrder', tenantId: 'acme', oldStatus: 'a', newStatus: 'b', entity: { uuid: 'u', number: null, externalId: null }, time: 't' },
      'sub_1',
      '{"x":"\uFFFF"}',
    );
    await new SqsJobQueue(sqs.client, QUEUE, { retries: 0 }).enqueue([job]);
    expect(sqs.refused).toEqual([]);
    expect(parseJob(sqs.sent[0]!.body)).toEqual(job);
  });

  it('dlq redrive re-sends a parked job SQS would refuse as it was read, escaped, and the job parses back exactly', async () => {
    const job: DeliveryJob = { ...buildJob({ eventId: 'evt-1', event: 'sales_order.status.changed', entityKey: 'salesOrder', tenantId: 'acme', oldStatus: 'a', newStatus: 'b', entity: { uuid: 'u', number: null, externalId: null }, time: 't' }, 'sub_1', '{"x":1}'), body: '{"note":"\uFFFE"}' };
    let received = false;
    sqs.mock.on(ReceiveMessageCommand).callsFake(async () => {
      if (received) return { Messages: [] };
      received = true;
      return { Messages: [{ MessageId: 'dlq-1', ReceiptHandle: 'rh-1', Body: JSON.stringify(job), MessageAttributes: { [PARKED_ATTRIBUTES.reason]: { DataType: 'String', StringValue: 'HTTP 500' } } }] };
    });
    sqs.mock.on(DeleteMessageBatchCommand).resolves({ Successful: [{ Id: 'm0' }], Failed: [] });
    sqs.mock.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
    sqs.mock.on(GetQueueAttributesCommand).resolves({ Attributes: {} });
    const report = await redriveDeliveryDlq(sqs.client, 'https://sqs/delivery-dlq', QUEUE, {});
    expect(report.failed).toEqual([]);
    expect(report.moved).toHaveLength(1);
    expect(sqs.refused).toEqual([]);
    // Redriven, the job starts afresh (attempts 0, queued now); everything else parses back exactly.
    expect(parseJob(sqs.sent[0]!.body)).toEqual({ ...job, attempts: 0, queuedAt: expect.any(String), recorded: true });
  });
});

describe('the character rule and the escaping (lambdas/core/sqs-text.ts)', () => {
  it('finds the first character SQS refuses, as its code unit', () => {
    expect(firstUncarriable('ok 😀 \t\n\r')).toBeNull();
    expect(firstUncarriable('a\uFFFFb\uFFFE')).toBe(0xffff);
    expect(firstUncarriable('😀\uD83D')).toBe(0xd83d);
    expect(firstUncarriable('\uDE00')).toBe(0xde00);
    expect(firstUncarriable('x\u000Cy')).toBe(0x0c);
  });

  it('JSON text of any string holds only characters SQS takes and parses back to the same string', () => {
    const nasty = Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)).join('') + '\uD800\uDBFF\uDC00\uDFFF\uFFFE\uFFFF😀\u2028"\\';
    const text = toSqsText({ nasty, list: [nasty] });
    expect(sqsRefuses(text)).toBeNull();
    expect(JSON.parse(text)).toEqual({ nasty, list: [nasty] });
  });

  it('escaping leaves text SQS already takes unchanged', () => {
    const fine = '{"a":"😀 € \\u0000 \\"x\\""}';
    expect(escapeUncarriable(fine)).toBe(fine);
  });

  it('an attribute has every character SQS refuses written as the text \\uXXXX, and nothing else changed', () => {
    const text = 'a\uFFFEb\uFFFFc\uD800d\uDC00e\u0001f\tg😀h\uFFFD';
    const safe = sqsSafeAttribute(text);
    expect(safe).toBe('a\\ufffeb\\uffffc\\ud800d\\udc00e\\u0001f\tg😀h\uFFFD');
    expect(sqsRefuses(safe)).toBeNull();
  });

  it('an attribute is cut between code points, never leaving half a surrogate pair', () => {
    const cut = sqsSafeAttribute('ab😀', 3);
    expect(cut).toBe('ab…');
    expect(sqsRefuses(cut)).toBeNull();
  });

  it("tells when Lambda's failure record of an event could not reach an SQS destination: U+FFFE/U+FFFF raw, or too big", () => {
    const event = (extra: unknown) => ({ version: '0', id: 'e-1', 'detail-type': 'sales_order.status.changed', detail: { tenantId: 'acme', extra } });
    expect(failureRecordRefusal(event('plain text, emoji 😀, \u00e9'))).toBeNull();
    // JSON escapes control characters and lone surrogates, so the record carries them.
    expect(failureRecordRefusal(event('\u0001 \ud800'))).toBeNull();
    expect(failureRecordRefusal(event(['ok', { deep: 'x\uffff' }]))).toBe('the event holds U+FFFF, which an SQS message cannot carry');
    expect(failureRecordRefusal(event('\ufffe'))).toBe('the event holds U+FFFE, which an SQS message cannot carry');
    const fits = SQS_MAX_MESSAGE_BYTES - FAILURE_RECORD_HEADROOM_BYTES - stringifyJson(event('')).length;
    expect(failureRecordRefusal(event('a'.repeat(fits)))).toBeNull();
    expect(failureRecordRefusal(event('é'.repeat(fits / 2 + 1)))).toMatch(/^the event is \d+ bytes, too big for an SQS message with the error around it$/);
  });
});

/** `[[[…{"a":"\uFFFE"}…]]]` nested `depth` deep, as JSON text. */
const deepText = (depth: number) => `${'['.repeat(depth)}{"a":"x\uFFFE"}${']'.repeat(depth)}`;

/** An event as JSON text, so the expected bytes are known without serializing the deep value. */
function eventText(detail: string, depth: number): string {
  return `{"version":"0","id":"evt-deep","detail-type":"sales_order.status.changed","source":"shop","time":"2026-11-28T09:59:00Z","detail":{${detail},"extra":${deepText(depth)}}}`;
}

const VALID = '"tenantId":"acme","oldStatus":"open","newStatus":"shipped","salesOrder":{"uuid":"u-1","number":"1001","externalId":null}';
const INVALID = '"tenantId":"acme","oldStatus":"open","salesOrder":{"uuid":"u-1"}';

describe.each([10_000, 100_000])('deep JSON: an event with a %i-deep extra field', (depth) => {
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

  it.each<[string, unknown]>([
    ['an object', { a: 1, b: [true, null, 'x'], c: { d: -0.5 } }],
    ['a string with quotes, backslashes and emoji', 'say "hi" \\ 😀'],
    ['an array of scalars', [1, 'two', false, null, 1e21]],
    ['a number', 42],
    ['a date', new Date(0)],
  ])('writes %s exactly as JSON.stringify does, and so does toSqsText', (_name, value) => {
    expect(stringifyJson(value)).toBe(JSON.stringify(value));
    expect(toSqsText(value)).toBe(JSON.stringify(value));
  });

  it('toSqsText of a deep value parses back to the same text', () => {
    const text = toSqsText(JSON.parse(deepText(10_000)));
    expect(text).toBe(deepText(10_000).replace('\uFFFE', '\\ufffe'));
  });
});
