import { EVENT_NAMES, closestEventName, entityKeyOf } from '../../lambdas/core/catalog';
import { InvalidEventError } from '../../lambdas/core/errors';
import { buildPayload, parseBusEvent, parseDetail } from '../../lambdas/core/events';

const uuid = '90aabf83-d23c-4792-b483-2546b8041379-071569a0-99d9-43d2-a466-9f82408d1ae0';

function busEvent(detailType: string, detail: unknown) {
  return { version: '0', id: 'evt-1', 'detail-type': detailType, source: 'returns.cloud', account: '1', time: '2026-11-28T10:00:00Z', region: 'eu-west-1', resources: [], detail };
}

function rejection(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidEventError);
    return (error as Error).message;
  }
  throw new Error('expected the event to be rejected');
}

describe('event schema', () => {
  it.each(EVENT_NAMES)('accepts a valid %s event', (name) => {
    const key = entityKeyOf(name);
    const change = parseBusEvent(busEvent(name, { tenantId: 'acme', oldStatus: 'a', newStatus: 'b', [key]: { uuid: 'u-1', number: '7', externalId: 'X' } }));
    expect(change).toEqual({ eventId: 'evt-1', time: '2026-11-28T10:00:00Z', event: name, entityKey: key, tenantId: 'acme', oldStatus: 'a', newStatus: 'b', entity: { uuid: 'u-1', number: '7', externalId: 'X' } });
  });

  it('treats absent number and externalId as null', () => {
    const change = parseDetail('sales_order.status.changed', { tenantId: 't', oldStatus: 'a', newStatus: 'b', salesOrder: { uuid: 'u' } });
    expect(change.entity).toEqual({ uuid: 'u', number: null, externalId: null });
  });

  it('rejects an unknown event type and suggests the closest one', () => {
    const message = rejection(() => parseDetail('return_order.status.change', {}));
    expect(message).toContain('unknown event type "return_order.status.change"');
    expect(message).toContain('did you mean "return_order.status.changed"');
  });

  it.each([
    ['a missing tenantId', { oldStatus: 'a', newStatus: 'b', returnOrder: { uuid: 'u' } }, 'detail.tenantId'],
    ['an empty oldStatus', { tenantId: 't', oldStatus: '', newStatus: 'b', returnOrder: { uuid: 'u' } }, 'detail.oldStatus: must be a non-empty string'],
    ['a numeric newStatus', { tenantId: 't', oldStatus: 'a', newStatus: 5, returnOrder: { uuid: 'u' } }, 'detail.newStatus'],
    ['the entity under another key', { tenantId: 't', oldStatus: 'a', newStatus: 'b', salesOrder: { uuid: 'u' } }, 'detail.returnOrder'],
    ['an empty uuid', { tenantId: 't', oldStatus: 'a', newStatus: 'b', returnOrder: { uuid: '' } }, 'detail.returnOrder.uuid: must be a non-empty string'],
    ['a numeric number', { tenantId: 't', oldStatus: 'a', newStatus: 'b', returnOrder: { uuid: 'u', number: 100004 } }, 'detail.returnOrder.number'],
    ['a detail that is not an object', 'hello', 'detail'],
  ])('rejects %s with a reason naming the field', (_label, detail, expected) => {
    expect(rejection(() => parseDetail('return_order.status.changed', detail))).toContain(expected);
  });

  it('lists every problem of an event at once', () => {
    const message = rejection(() => parseDetail('return_order.status.changed', { oldStatus: '', newStatus: 'b' }));
    expect(message).toMatch(/tenantId.*oldStatus.*returnOrder/);
  });

  it('rejects something that is not an EventBridge event', () => {
    expect(rejection(() => parseBusEvent({ detail: {} }))).toContain('not an EventBridge event');
    expect(rejection(() => parseBusEvent(null))).toContain('not an EventBridge event');
  });

  it('refuses an event of a source the stack does not accept, naming the nearest accepted one', () => {
    const valid = { tenantId: 'acme', oldStatus: 'a', newStatus: 'b', returnOrder: { uuid: 'u-1' } };
    const sources = ['returns.cloud', 'orders.cloud'];
    const fromSource = (source: string, detailType = 'return_order.status.changed') => ({ ...busEvent(detailType, valid), source });
    expect(parseBusEvent(fromSource('orders.cloud'), sources).tenantId).toBe('acme');
    expect(rejection(() => parseBusEvent(fromSource('order.cloud'), sources))).toBe('unknown source "order.cloud" (did you mean "orders.cloud"?); this stack accepts "returns.cloud", "orders.cloud"');
    // Source and detail type both wrong: both are said.
    expect(rejection(() => parseBusEvent(fromSource('Returns.Cloud', 'return.created'), sources))).toMatch(
      /^unknown source "Returns\.Cloud" \(did you mean "returns\.cloud"\?\); .*; unknown event type "return\.created" \(did you mean "return_order\.status\.changed"\?\)/,
    );
    // Without the setting (a handler run outside the stack) the source is not checked.
    expect(parseBusEvent(fromSource('anything')).tenantId).toBe('acme');
  });

  it('suggests names for typos', () => {
    expect(closestEventName('payment.status.changed')).toBe('payment_operation.status.changed');
    expect(closestEventName('SALES_ORDER_PARCEL.status.changed')).toBe('sales_order_parcel.status.changed');
  });
});

describe('payload builder', () => {
  it('produces the contract example byte for byte', () => {
    const change = parseDetail('return_order.status.changed', {
      tenantId: 'acme-shop',
      oldStatus: 'approved',
      newStatus: 'option_selected',
      returnOrder: { number: '100004', uuid, externalId: null },
    });
    expect(buildPayload(change)).toBe(
      `{"event":"return_order.status.changed","oldStatus":"approved","newStatus":"option_selected","returnOrder":{"number":"100004","uuid":"${uuid}","externalId":null}}`,
    );
  });

  it('never forwards fields the contract does not name', () => {
    const change = parseDetail('payment_operation.status.changed', {
      tenantId: 'acme-shop',
      oldStatus: 'pending',
      newStatus: 'paid',
      customerEmail: 'jane@example.com',
      paymentOperation: { uuid: 'p-1', number: null, externalId: 'ext', iban: 'DE00 0000', amount: 12 },
    });
    const body = buildPayload(change);
    expect(body).toBe('{"event":"payment_operation.status.changed","oldStatus":"pending","newStatus":"paid","paymentOperation":{"number":null,"uuid":"p-1","externalId":"ext"}}');
    expect(body).not.toContain('tenantId');
    expect(body).not.toContain('jane@example.com');
    expect(body).not.toContain('iban');
  });
});
