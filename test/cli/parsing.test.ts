/** In-process tests of the CLI's pure parts: option parsers and the dead-letter message readers. */
import type { Message } from '@aws-sdk/client-sqs';
import { readParkedEvent, readParkedJob } from '../../cli/dlq-view';
import { UsageError } from '../../cli/errors';
import { parseDuration, parseEventList, parseStatusFilter, parseSubscriptionUrl } from '../../cli/inputs';
import { PARKED_ATTRIBUTES } from '../../lambdas/core/job';

const now = new Date('2025-11-28T12:00:00.000Z');

describe('option parsers', () => {
  test.each([
    ['30m', 30 * 60_000],
    ['24h', 24 * 3600_000],
    ['7d', 7 * 86_400_000],
    ['90s', 90_000],
    ['0s', 0],
  ])('duration %s', (text, ms) => {
    expect(parseDuration('--grace', text)).toBe(ms);
  });

  test.each(['24', '1w', '-1h', '1.5h', 'h', '', '31d'])('malformed or too long duration "%s" is a usage error', (text) => {
    expect(() => parseDuration('--grace', text)).toThrow(UsageError);
  });

  test('event lists: names, "*", typos with a hint, mixing "*" with names', () => {
    expect(parseEventList('--events', ' return_order.status.changed , payment_operation.status.changed')).toEqual(['return_order.status.changed', 'payment_operation.status.changed']);
    expect(parseEventList('--events', '*')).toEqual(['*']);
    expect(() => parseEventList('--events', 'sales_order.status.change')).toThrow('did you mean "sales_order.status.changed"?');
    expect(() => parseEventList('--events', '*,sales_order.status.changed')).toThrow('use either "*" or a list of event names');
    expect(() => parseEventList('--events', 'sales_order.status.changed,')).toThrow(UsageError);
  });

  test('status filters refuse empty values', () => {
    expect(parseStatusFilter('--status-filter', 'delivered, cancelled,delivered')).toEqual(['delivered', 'cancelled']);
    for (const bad of ['', 'a,,b', 'a,', ' ']) expect(() => parseStatusFilter('--status-filter', bad)).toThrow(UsageError);
  });

  test('URLs follow the target policy: the local runtime allows loopback http, a stack does not', () => {
    const local = { allowPrivate: true, allowHttp: true };
    const stack = { allowPrivate: false, allowHttp: false };
    expect(parseSubscriptionUrl('--url', 'http://127.0.0.1:9000/hook', local, 'local')).toBe('http://127.0.0.1:9000/hook');
    expect(() => parseSubscriptionUrl('--url', 'http://127.0.0.1:9000/hook', stack, 'stack')).toThrow(/scheme "http" is not allowed/);
    expect(() => parseSubscriptionUrl('--url', 'https://[::ffff:10.0.0.1]/hook', stack, 'stack')).toThrow(/is not public/);
    expect(() => parseSubscriptionUrl('--url', 'https://user:pw@hooks.example.com/', stack, 'stack')).toThrow(/credentials in the URL/);
    expect(() => parseSubscriptionUrl('--url', 'not a url', local, 'local')).toThrow(UsageError);
  });
});

const job = {
  v: 1,
  deliveryId: 'msg_1',
  eventId: 'evt-1',
  event: 'payment_operation.status.changed',
  tenantId: 'acme-shop',
  subscriptionId: 'sub_1',
  body: '{"event":"payment_operation.status.changed"}',
  occurredAt: '2025-11-28T10:00:00.000Z',
};

describe('reading the delivery DLQ', () => {
  test('a job parked by the delivery function carries its reason, attempts and time', () => {
    const message: Message = {
      MessageId: 'm1',
      Body: JSON.stringify(job),
      Attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.parse('2025-11-28T11:59:00Z')) },
      MessageAttributes: {
        [PARKED_ATTRIBUTES.reason]: { DataType: 'String', StringValue: 'failed 5 attempts; last: HTTP 503' },
        [PARKED_ATTRIBUTES.attempts]: { DataType: 'Number', StringValue: '5' },
        [PARKED_ATTRIBUTES.parkedAt]: { DataType: 'String', StringValue: '2025-11-28T11:00:00.000Z' },
      },
    };
    expect(readParkedJob(message, now).view).toEqual({
      messageId: 'm1',
      deliveryId: 'msg_1',
      eventId: 'evt-1',
      tenantId: 'acme-shop',
      subscriptionId: 'sub_1',
      event: 'payment_operation.status.changed',
      attempts: 5,
      parkedBy: 'delivery',
      reason: 'failed 5 attempts; last: HTTP 503',
      parkedAt: '2025-11-28T11:00:00.000Z',
      ageSeconds: 3600,
    });
  });

  test('a job moved by SQS redrive has no reason; attempts come from the receive count', () => {
    const message: Message = { MessageId: 'm2', Body: JSON.stringify(job), Attributes: { ApproximateReceiveCount: '6', SentTimestamp: String(Date.parse('2025-11-28T11:58:00Z')) } };
    expect(readParkedJob(message, now).view).toMatchObject({ parkedBy: 'sqs-redrive', attempts: 6, ageSeconds: 120, reason: expect.stringMatching(/^unknown/) });
  });

  test('an unreadable body is described, not thrown', () => {
    const { view, job: parsed } = readParkedJob({ MessageId: 'm3', Body: '{"v":2}' }, now);
    expect(parsed).toBeNull();
    expect(view).toMatchObject({ deliveryId: null, reason: expect.stringMatching(/^unreadable job: invalid delivery job/) });
  });
});

describe('reading the fan-out DLQ', () => {
  const event = { id: 'evt-9', source: 'returns.cloud', 'detail-type': 'sales_order.status.changed', time: '2025-11-28T11:00:00Z', detail: { tenantId: 'globex' } };

  test('the three writers, and a message of none of them', () => {
    const rejected = readParkedEvent({ MessageId: 'a', Body: JSON.stringify({ kind: 'rejected-event', reason: 'bad', rejectedAt: '2025-11-28T11:30:00.000Z', event }) }, now);
    expect(rejected.view).toMatchObject({ kind: 'rejected-event', eventId: 'evt-9', tenantId: 'globex', detailType: 'sales_order.status.changed', reason: 'bad', ageSeconds: 1800 });
    expect(rejected.event).toMatchObject({ source: 'returns.cloud', detail: { tenantId: 'globex' } });

    const lambda = readParkedEvent(
      {
        MessageId: 'b',
        Body: JSON.stringify({
          version: '1.0',
          timestamp: '2025-11-28T11:59:00.000Z',
          requestContext: { condition: 'EventAgeExceeded', approximateInvokeCount: 2 },
          requestPayload: event,
          responsePayload: null,
        }),
      },
      now,
    );
    expect(lambda.view).toMatchObject({ kind: 'lambda-failure', reason: 'EventAgeExceeded', attempts: 2, ageSeconds: 60 });

    const rule = readParkedEvent(
      {
        MessageId: 'c',
        Body: JSON.stringify(event),
        Attributes: { SentTimestamp: String(Date.parse('2025-11-28T11:59:30Z')) },
        MessageAttributes: { ERROR_CODE: { DataType: 'String', StringValue: 'SDK_CLIENT_ERROR' }, RETRY_ATTEMPTS: { DataType: 'String', StringValue: '185' } },
      },
      now,
    );
    expect(rule.view).toMatchObject({ kind: 'rule-target-failure', reason: 'SDK_CLIENT_ERROR', attempts: 185, ageSeconds: 30 });

    const junk = readParkedEvent({ MessageId: 'd', Body: 'hello' }, now);
    expect(junk.view).toMatchObject({ kind: 'unknown', reason: 'unreadable message body (not JSON)', eventId: null });
    expect(junk.event).toBeNull();
  });

  test('a rejected record whose event was truncated has no event to resend', () => {
    const truncated = readParkedEvent({ MessageId: 'e', Body: JSON.stringify({ kind: 'rejected-event', reason: 'too big', rejectedAt: '2025-11-28T11:00:00Z', event: '{"id":"evt-…', eventTruncated: true }) }, now);
    expect(truncated.view.kind).toBe('rejected-event');
    expect(truncated.event).toBeNull();
  });
});
