/**
 * Documented field limits (docs/notes/bytes.md): what breaks them is parked with the reason, and
 * the largest webhook body and delivery job the contract allows are what the docs state.
 */
import { EVENT_CATALOG, EVENT_NAMES, type EventName } from '../../lambdas/core/catalog';
import { buildPayload, FIELD_LIMITS, MAX_WEBHOOK_BODY_BYTES, MAX_WEBHOOK_BODY_CHARS, parseBusEvent, type StatusChange } from '../../lambdas/core/events';
import { fanOut } from '../../lambdas/core/route-event';
import { buildJob, type DeliveryJob, MAX_JOB_BYTES, MAX_SUBSCRIPTION_ID_BYTES } from '../../lambdas/core/job';
import { SQS_MAX_MESSAGE_BYTES, toSqsText } from '../../lambdas/core/sqs-text';
import { DLQ, QUEUE, fakeSqs, fanOutPortsOver } from './fake-sqs';

let sqs: ReturnType<typeof fakeSqs>;
beforeEach(() => {
  sqs = fakeSqs();
});
afterEach(() => sqs.mock.restore());

const ports = () => fanOutPortsOver(sqs.client);

const busEvent = (detail: Record<string, unknown>, event = 'sales_order.status.changed') => ({
  version: '0',
  id: 'evt-1',
  'detail-type': event,
  source: 'shop',
  time: '2026-11-28T09:59:00Z',
  detail,
});
const detail = (overrides: Record<string, unknown> = {}, entity: Record<string, unknown> = {}) => ({
  tenantId: 'acme',
  oldStatus: 'open',
  newStatus: 'shipped',
  salesOrder: { uuid: 'u-1', number: '1001', externalId: null, ...entity },
  ...overrides,
});

describe('field limits', () => {
  it.each([
    ['a 200 KB uuid', {}, { uuid: 'u'.repeat(200_000) }, 'detail.salesOrder.uuid: is 200000 characters long; at most 128 are allowed'],
    ['a 100 KB externalId of quotes', {}, { externalId: '"'.repeat(100_000) }, 'detail.salesOrder.externalId: is 100000 characters long; at most 256 are allowed'],
    ['a 257-character number', {}, { number: 'n'.repeat(257) }, 'detail.salesOrder.number: is 257 characters long; at most 256 are allowed'],
    ['a 129-character uuid', {}, { uuid: 'u'.repeat(129) }, 'detail.salesOrder.uuid: is 129 characters long; at most 128 are allowed'],
    ['a 129-character newStatus', { newStatus: 's'.repeat(129) }, {}, 'detail.newStatus: is 129 characters long; at most 128 are allowed'],
    ['a 129-character oldStatus', { oldStatus: 's'.repeat(129) }, {}, 'detail.oldStatus: is 129 characters long; at most 128 are allowed'],
    ['a 257-character tenantId', { tenantId: 't'.repeat(257) }, {}, 'detail.tenantId: is 257 characters long; at most 256 are allowed'],
    [
      'a newStatus of 60 emoji and 9 letters (129 UTF-16 code units)',
      { newStatus: `${'😀'.repeat(60)}delivered` },
      {},
      'detail.newStatus: is 129 UTF-16 code units long (69 characters, of which 60 count 2: emoji and others outside the Basic Multilingual Plane); at most 128 are allowed',
    ],
    ['a whitespace-only newStatus', { newStatus: '  \t ' }, {}, 'detail.newStatus: must not be only whitespace'],
    ['a whitespace-only oldStatus', { oldStatus: '\u00A0' }, {}, 'detail.oldStatus: must not be only whitespace'],
    ['a whitespace-only tenantId', { tenantId: ' ' }, {}, 'detail.tenantId: must not be only whitespace'],
    ['a whitespace-only uuid', {}, { uuid: '\n' }, 'detail.salesOrder.uuid: must not be only whitespace'],
    ['an empty uuid', {}, { uuid: '' }, 'detail.salesOrder.uuid: must be a non-empty string'],
  ])('%s is refused and parked with the reason', async (_name, overrides, entity, reason) => {
    const event = busEvent(detail(overrides, entity));
    const result = await fanOut(event, ports());
    expect(result).toEqual({ status: 'rejected', reason: expect.stringContaining(reason) });
    expect(sqs.sent.filter((m) => m.queueUrl === QUEUE)).toEqual([]);
    const parked = sqs.sent.filter((m) => m.queueUrl === DLQ).map((m) => JSON.parse(m.body));
    expect(parked).toHaveLength(1);
    expect(parked[0]).toMatchObject({ kind: 'rejected-event', reason: expect.stringContaining(reason), event });
  });

  it('a field of exactly its limit in UTF-16 code units is accepted, emoji counting 2', async () => {
    const newStatus = `${'😀'.repeat(60)}shipped!`;
    expect(newStatus.length).toBe(128);
    const result = await fanOut(busEvent(detail({ newStatus })), ports());
    expect(result).toMatchObject({ status: 'queued' });
  });

  it('a 200 KB return order uuid is parked with a reason naming detail.returnOrder.uuid', async () => {
    const event = busEvent({ tenantId: 'acme', oldStatus: 'open', newStatus: 'approved', returnOrder: { uuid: 'r'.repeat(200_000) } }, 'return_order.status.changed');
    const result = await fanOut(event, ports());
    expect(result).toEqual({ status: 'rejected', reason: expect.stringContaining('detail.returnOrder.uuid: is 200000 characters long; at most 128 are allowed') });
    const parked = sqs.sent.filter((m) => m.queueUrl === DLQ).map((m) => JSON.parse(m.body));
    expect(parked).toEqual([expect.objectContaining({ kind: 'rejected-event', event })]);
  });

  it('fields at their limits are delivered', async () => {
    const event = busEvent(
      detail({ tenantId: 't'.repeat(256), oldStatus: 'o'.repeat(128), newStatus: 'n'.repeat(128) }, { uuid: 'u'.repeat(128), number: 'n'.repeat(256), externalId: 'e'.repeat(256) }),
    );
    await expect(fanOut(event, ports())).resolves.toMatchObject({ status: 'queued' });
    expect(sqs.sent.map((m) => m.queueUrl)).toEqual([QUEUE]);
  });

  it('number and externalId may be empty, null or missing; statuses may have inner spaces', async () => {
    expect(parseBusEvent(busEvent(detail({ newStatus: 'on hold' }, { number: '', externalId: '' }))).entity).toEqual({ uuid: 'u-1', number: '', externalId: '' });
    expect(parseBusEvent(busEvent(detail({}, { number: undefined, externalId: undefined }))).entity).toEqual({ uuid: 'u-1', number: null, externalId: null });
  });

  it('an event id or time longer than the envelope limits is refused', () => {
    expect(() => parseBusEvent({ ...busEvent(detail()), id: 'i'.repeat(129) })).toThrow(/id/);
    expect(() => parseBusEvent({ ...busEvent(detail()), time: 't'.repeat(65) })).toThrow(/time/);
  });
});

/** Every forwarded field at its limit, filled with `fill` (a string of 1 or 2 UTF-16 units). */
function changeAtLimits(event: EventName, fill: Record<'tenantId' | 'forwarded' | 'envelope', string>): StatusChange {
  const at = (limit: number, c: string) => c.repeat(Math.floor(limit / c.length));
  return {
    event,
    entityKey: EVENT_CATALOG[event],
    eventId: at(FIELD_LIMITS.eventId, fill.envelope),
    time: at(FIELD_LIMITS.time, fill.envelope),
    tenantId: at(FIELD_LIMITS.tenantId, fill.tenantId),
    oldStatus: at(FIELD_LIMITS.status, fill.forwarded),
    newStatus: at(FIELD_LIMITS.status, fill.forwarded),
    entity: { uuid: at(FIELD_LIMITS.uuid, fill.forwarded), number: at(FIELD_LIMITS.number, fill.forwarded), externalId: at(FIELD_LIMITS.externalId, fill.forwarded) },
  };
}

// Characters a forwarded field may hold, each with a different JSON/UTF-8 cost.
const FORWARDED = ['a', '"', '\\', '\t', 'é', '€', '\u2028', '\uFFFD', '😀'];
// Event id, time and subscription id are not forwarded, so they may hold anything.
const ANYTHING = [...FORWARDED, '\u0001', '\uFFFF', '\uD800'];
const bytes = (text: string) => Buffer.byteLength(text, 'utf8');
// A job grows on the retry lane: the largest attempt count the settings allow, a wait past SQS's 15
// minutes, and the mark of a job an operator redrove (its record is written whatever the log mode).
const onItsLastRetry = (job: DeliveryJob): DeliveryJob => ({ ...job, attempts: 100, notBefore: 9_999_999_999_999, recorded: true });

describe('the largest webhook body and delivery job', () => {
  it(`the worst-case event gives a ${MAX_WEBHOOK_BODY_BYTES}-byte body and a ${MAX_JOB_BYTES}-byte job, within SQS's 256 KiB`, () => {
    const worst = changeAtLimits('return_order_parcel.status.changed', { tenantId: '€', forwarded: '"', envelope: '\u0001' });
    const bodyOfQuotes = buildPayload(worst);
    expect(bodyOfQuotes.length).toBe(MAX_WEBHOOK_BODY_CHARS);
    const bodyOfEuros = buildPayload(changeAtLimits('return_order_parcel.status.changed', { tenantId: '€', forwarded: '€', envelope: 'a' }));
    expect(bytes(bodyOfEuros)).toBe(MAX_WEBHOOK_BODY_BYTES);

    const job = toSqsText(onItsLastRetry(buildJob(worst, '\u0001'.repeat(MAX_SUBSCRIPTION_ID_BYTES), bodyOfQuotes)));
    expect(bytes(job)).toBe(MAX_JOB_BYTES);
    expect(MAX_JOB_BYTES).toBeLessThan(SQS_MAX_MESSAGE_BYTES);
    // And what the validator accepts: the worst case is a valid event.
    expect(() => parseBusEvent({ id: 'e', 'detail-type': worst.event, source: 's', detail: { tenantId: worst.tenantId, oldStatus: worst.oldStatus, newStatus: worst.newStatus, returnOrderParcel: worst.entity } })).not.toThrow();
  });

  it('no other event name or character mix gives a longer body or job', () => {
    let longestBody = 0;
    let longestBodyChars = 0;
    let longestJob = 0;
    for (const event of EVENT_NAMES) {
      for (const forwarded of FORWARDED) {
        for (const tenantId of FORWARDED) {
          const body = buildPayload(changeAtLimits(event, { tenantId, forwarded, envelope: 'a' }));
          longestBody = Math.max(longestBody, bytes(body));
          longestBodyChars = Math.max(longestBodyChars, body.length);
          for (const envelope of ANYTHING) {
            const change = changeAtLimits(event, { tenantId, forwarded, envelope });
            const job = toSqsText(onItsLastRetry(buildJob(change, envelope.repeat(Math.floor(MAX_SUBSCRIPTION_ID_BYTES / bytes(envelope))), body)));
            longestJob = Math.max(longestJob, bytes(job));
          }
        }
      }
    }
    expect(longestBody).toBe(MAX_WEBHOOK_BODY_BYTES);
    expect(longestBodyChars).toBe(MAX_WEBHOOK_BODY_CHARS);
    expect(longestJob).toBe(MAX_JOB_BYTES);
  });
});
