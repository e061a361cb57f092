import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Message } from '@aws-sdk/client-sqs';
import { PARKED_ATTRIBUTES, type DeliveryJob } from '../../lambdas/core/job';
import { deliveryIdFor } from '../../lambdas/core/subscriptions';
import { cli, json, peek, putEventsReceived, send, type Fixture, useFixture } from './helpers';

jest.setTimeout(60_000);

let f: Fixture;
useFixture((started) => (f = started));

function job(n: number, tenantId: string, subscriptionId: string): DeliveryJob {
  const eventId = `evt-${n}`;
  return {
    v: 1,
    deliveryId: deliveryIdFor(eventId, subscriptionId),
    eventId,
    event: 'return_order.status.changed',
    tenantId,
    subscriptionId,
    body: `{"event":"return_order.status.changed","oldStatus":"approved","newStatus":"s${n}","returnOrder":{"number":null,"uuid":"u-${n}","externalId":null}}`,
    occurredAt: '2025-11-28T10:00:00.000Z',
  };
}

/** Parks a job as the delivery function does (attributes), or as SQS redrive does (none). */
async function park(j: DeliveryJob, reason?: string, attempts = 5): Promise<void> {
  const attributes = reason
    ? {
        [PARKED_ATTRIBUTES.reason]: { DataType: 'String', StringValue: reason },
        [PARKED_ATTRIBUTES.attempts]: { DataType: 'Number', StringValue: String(attempts) },
        [PARKED_ATTRIBUTES.parkedAt]: { DataType: 'String', StringValue: new Date(Date.now() - 2 * 3600_000).toISOString() },
      }
    : undefined;
  await send(f, f.state.DeliveryDlqUrl, JSON.stringify(j), attributes);
}

const bodies = (messages: Message[]) => messages.map((m) => m.Body!).sort();

describe('delivery DLQ', () => {
  const a1 = job(1, 'acme-shop', 'sub_a');
  const a2 = job(2, 'acme-shop', 'sub_a');
  const b3 = job(3, 'acme-shop', 'sub_b');
  const c4 = job(4, 'globex', 'sub_c');
  const c5 = job(5, 'globex', 'sub_c');

  beforeAll(async () => {
    await park(a1, 'failed 5 attempts; last: HTTP 500 from https://hooks.acme.example/in');
    await park(a2, '410 Gone: subscription disabled', 1);
    await park(b3);
    await park(c4, 'failed 5 attempts; last: timeout after 10000 ms');
    await park(c5, 'failed 5 attempts; last: connection refused');
    await send(f, f.state.DeliveryDlqUrl, 'this is not a job', { [PARKED_ATTRIBUTES.reason]: { DataType: 'String', StringValue: 'malformed job: delivery job is not JSON' } });
  });

  test('dlq list shows every parked job and consumes none', async () => {
    const text = await cli(['dlq', 'list', ...f.local]);
    const asJson = await cli(['dlq', 'list', '--json', ...f.local]);

    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')[0]).toMatch(/^DELIVERY ID\s+TENANT\s+SUBSCRIPTION\s+EVENT\s+ATTEMPTS\s+AGE\s+REASON$/);
    expect(text.stdout).toMatch(new RegExp(`${a1.deliveryId}\\s+acme-shop\\s+sub_a\\s+return_order.status.changed\\s+5\\s+2h\\s+failed 5 attempts; last: HTTP 500`));
    expect(text.stdout).toContain('6 shown');
    expect(asJson.code).toBe(0);
    const listed = json<{ total: number; jobs: { deliveryId: string | null; tenantId: string | null; subscriptionId: string | null; attempts: number | null; parkedBy: string; reason: string; ageSeconds: number }[] }>(asJson);
    expect(listed.total).toBe(6);
    const byId = new Map(listed.jobs.map((j) => [j.deliveryId, j]));
    expect(byId.get(a2.deliveryId)).toMatchObject({ tenantId: 'acme-shop', subscriptionId: 'sub_a', attempts: 1, parkedBy: 'delivery', reason: '410 Gone: subscription disabled' });
    // Moved by SQS redrive: no reason recorded, attempts from the receive count.
    expect(byId.get(b3.deliveryId)).toMatchObject({ parkedBy: 'sqs-redrive', reason: expect.stringMatching(/^unknown: moved by SQS redrive/) });
    expect(byId.get(b3.deliveryId)!.attempts).toBeGreaterThanOrEqual(1);
    expect(byId.get(null)).toMatchObject({ reason: 'malformed job: delivery job is not JSON' });
    expect(byId.get(c4.deliveryId)!.ageSeconds).toBeGreaterThanOrEqual(7200 - 5);

    // Nothing consumed, and everything visible again at once.
    expect(await peek(f, f.state.DeliveryDlqUrl)).toHaveLength(6);
  });

  test('redrive --subscription moves only that subscription\'s jobs, with their delivery ids, and leaves the others parked', async () => {
    const r = await cli(['dlq', 'redrive', '--subscription', 'sub_a', '--tenant', 'acme-shop', ...f.local]);

    expect(r.code).toBe(0);
    expect(r.stdout).toContain('moved 2 jobs from the delivery DLQ to the delivery queue');
    expect(r.stdout).toContain('4 left in the delivery DLQ');
    // The original bodies, so the same delivery ids (webhook-id); fresh messages, so attempts restart.
    const queued = await peek(f, f.state.DeliveryQueueUrl);
    expect(bodies(queued)).toEqual([JSON.stringify(a1), JSON.stringify(a2)].sort());
    expect(queued.every((m) => m.Attributes?.ApproximateReceiveCount === '1')).toBe(true);
    expect(queued.every((m) => m.MessageAttributes === undefined)).toBe(true);
    expect(bodies(await peek(f, f.state.DeliveryDlqUrl))).toEqual([JSON.stringify(b3), JSON.stringify(c4), JSON.stringify(c5), 'this is not a job'].sort());
  });

  test('redrive --tenant --max moves at most that many of the tenant\'s jobs', async () => {
    const r = await cli(['dlq', 'redrive', '--tenant', 'globex', '--max', '1', '--json', ...f.local]);

    expect(r.code).toBe(0);
    const report = json<{ moved: { id: string; tenantId: string; subscriptionId: string }[]; remaining: number }>(r);
    expect(report.moved).toHaveLength(1);
    expect(report.moved[0]).toMatchObject({ tenantId: 'globex', subscriptionId: 'sub_c' });
    expect([c4.deliveryId, c5.deliveryId]).toContain(report.moved[0]!.id);
    expect(report.remaining).toBe(3);
    const queued = bodies(await peek(f, f.state.DeliveryQueueUrl));
    expect(queued).toHaveLength(3);
    const left = bodies(await peek(f, f.state.DeliveryDlqUrl));
    expect(left).toHaveLength(3);
    expect(left).toContain(JSON.stringify(b3));
    expect(left).toContain('this is not a job');
    // Exactly one of the tenant's two jobs moved; the other is still parked.
    expect([queued, left].flat().filter((b) => b.includes('"tenantId":"globex"'))).toHaveLength(2);
  });

  test('redrive without a selection moves every readable job and leaves an unreadable one parked, saying why', async () => {
    const r = await cli(['dlq', 'redrive', ...f.local]);

    expect(r.code).toBe(0);
    expect(r.stdout).toContain('moved 2 jobs');
    expect(r.stdout).toContain('skipped');
    expect(r.stdout).toContain('malformed job: delivery job is not JSON');
    expect(bodies(await peek(f, f.state.DeliveryDlqUrl))).toEqual(['this is not a job']);
    expect(await peek(f, f.state.DeliveryQueueUrl)).toHaveLength(5);
  });

  test('a job the delivery queue does not accept stays in the DLQ, and the run exits 1', async () => {
    // Prepare: a parked job, and a target whose delivery queue does not exist.
    const c6 = job(6, 'globex', 'sub_c');
    await park(c6, 'failed 5 attempts; last: HTTP 502');
    const broken = path.join(f.dir, 'no-delivery-queue.json');
    writeFileSync(broken, JSON.stringify({ ...JSON.parse(readFileSync(f.devFile, 'utf8')), DeliveryQueueUrl: f.state.DeliveryQueueUrl.replace(/[^/]+$/, 'no-such-queue') }));

    const r = await cli(['dlq', 'redrive', '--tenant', 'globex', '--local', broken]);

    expect(r.code).toBe(1);
    expect(r.stdout).toContain('moved 0 jobs');
    expect(r.stdout).toContain(`failed ${c6.deliveryId}:`);
    expect(r.stdout).toContain('(left parked)');
    expect(bodies(await peek(f, f.state.DeliveryDlqUrl))).toEqual([JSON.stringify(c6), 'this is not a job'].sort());
  });
});

describe('fan-out DLQ', () => {
  const event = (id: string, tenantId: string, detail: Record<string, unknown> = {}) => ({
    version: '0',
    id,
    'detail-type': 'sales_order.status.changed',
    source: 'returns.cloud',
    account: '000000000000',
    time: '2025-11-28T09:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail: { tenantId, oldStatus: 'new', newStatus: 'shipped', salesOrder: { number: '42', uuid: `uuid-${id}`, externalId: null }, ...detail },
  });
  const rejected = event('evt-rejected', 'acme-shop', { newStatus: '' });
  const timedOut = event('evt-timeout', 'acme-shop');
  const throttled = event('evt-throttled', 'globex');
  // Rejected by an older, stricter validator: the current one accepts it.
  const nowValid = event('evt-now-valid', 'acme-shop');

  beforeAll(async () => {
    // (1) written by fan-out for an invalid event
    await send(f, f.state.FanOutDlqUrl, JSON.stringify({ kind: 'rejected-event', reason: 'invalid sales_order.status.changed event: detail.newStatus: must be a non-empty string', rejectedAt: new Date().toISOString(), event: rejected }));
    await send(f, f.state.FanOutDlqUrl, JSON.stringify({ kind: 'rejected-event', reason: 'invalid (older validator)', rejectedAt: new Date().toISOString(), event: nowValid }));
    // (2) Lambda's async on-failure destination record
    await send(
      f,
      f.state.FanOutDlqUrl,
      JSON.stringify({
        version: '1.0',
        timestamp: new Date(Date.now() - 600_000).toISOString(),
        requestContext: { requestId: 'r', functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:fan-out:$LATEST', condition: 'RetriesExhausted', approximateInvokeCount: 3 },
        requestPayload: timedOut,
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        responsePayload: { errorType: 'TimeoutError', errorMessage: 'DynamoDB did not answer' },
      }),
    );
    // (3) EventBridge rule-target DLQ message
    await send(f, f.state.FanOutDlqUrl, JSON.stringify(throttled), {
      ERROR_CODE: { DataType: 'String', StringValue: 'ThrottlingException' },
      ERROR_MESSAGE: { DataType: 'String', StringValue: 'Rate exceeded' },
      RULE_ARN: { DataType: 'String', StringValue: 'arn:aws:events:us-east-1:000000000000:rule/bus/rule' },
      TARGET_ARN: { DataType: 'String', StringValue: 'arn:aws:lambda:us-east-1:000000000000:function:fan-out' },
    });
  });

  test('dlq list --queue fan-out reads the three message shapes into one view', async () => {
    const r = await cli(['dlq', 'list', '--queue', 'fan-out', '--json', ...f.local]);

    expect(r.code).toBe(0);
    const events = json<{ events: { eventId: string }[] }>(r).events;
    const byId = Object.fromEntries(events.map((e) => [e.eventId, e]));
    expect(byId['evt-rejected']).toMatchObject({ kind: 'rejected-event', tenantId: 'acme-shop', detailType: 'sales_order.status.changed', reason: expect.stringContaining('detail.newStatus') });
    expect(byId['evt-timeout']).toMatchObject({ kind: 'lambda-failure', tenantId: 'acme-shop', attempts: 3, reason: 'RetriesExhausted: TimeoutError: DynamoDB did not answer' });
    expect(byId['evt-timeout']!).toHaveProperty('ageSeconds', expect.any(Number));
    expect(byId['evt-throttled']).toMatchObject({ kind: 'rule-target-failure', tenantId: 'globex', reason: 'ThrottlingException: Rate exceeded' });
    expect(byId['evt-now-valid']).toMatchObject({ kind: 'rejected-event', reason: 'invalid (older validator)' });
    expect(await peek(f, f.state.FanOutDlqUrl)).toHaveLength(4);
  });

  test('redrive --queue fan-out puts the original events back on the bus and skips rejected ones', async () => {
    const [usage, r] = await Promise.all([
      cli(['dlq', 'redrive', '--queue', 'fan-out', '--subscription', 'sub_a', ...f.local]),
      cli(['dlq', 'redrive', '--queue', 'fan-out', '--json', ...f.local]),
    ]);

    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--subscription applies to the delivery DLQ only');
    expect(r.code).toBe(0);
    const report = json<{ moved: { id: string; newEventId: string }[]; skipped: { id: string; reason: string }[]; remaining: number }>(r);
    expect(report.moved.map((m) => m.id).sort()).toEqual(['evt-throttled', 'evt-timeout']);
    expect(report.skipped.map((x) => x.id).sort()).toEqual(['evt-now-valid', 'evt-rejected']);
    expect(report.skipped[0]!.reason).toContain('use --include-rejected');
    expect(report.remaining).toBe(2);
    // Same source, detail-type, detail and time; the bus assigns new event ids.
    const put = await putEventsReceived(f);
    expect(put.map((p) => p.EventId).sort()).toEqual(report.moved.map((m) => m.newEventId).sort());
    for (const original of [timedOut, throttled]) {
      const entry = put.find((p) => JSON.parse(p.Detail).salesOrder.uuid === original.detail.salesOrder.uuid)!;
      expect(entry).toMatchObject({ EventBusName: f.state.EventBusName, Source: original.source, DetailType: original['detail-type'] });
      expect(JSON.parse(entry.Detail)).toEqual(original.detail);
      expect(new Date(Number(entry.Time) * 1000).toISOString()).toBe(new Date(original.time).toISOString());
    }
    expect((await peek(f, f.state.FanOutDlqUrl)).map((m) => JSON.parse(m.Body!).kind)).toEqual(['rejected-event', 'rejected-event']);
  });

  test('redrive --include-rejected resends a rejected event only if the current validator accepts it', async () => {
    const r = await cli(['dlq', 'redrive', '--queue', 'fan-out', '--include-rejected', '--json', ...f.local]);

    expect(r.code).toBe(0);
    const report = json<{ moved: { id: string }[]; skipped: { id: string; reason: string }[] }>(r);
    expect(report.moved.map((m) => m.id)).toEqual(['evt-now-valid']);
    expect(report.skipped).toEqual([{ messageId: expect.any(String), id: 'evt-rejected', reason: expect.stringMatching(/^still invalid: .*detail.newStatus: must be a non-empty string/) }]);
    const left = await peek(f, f.state.FanOutDlqUrl);
    expect(left.map((m) => JSON.parse(m.Body!).event.id)).toEqual(['evt-rejected']);
    expect((await putEventsReceived(f)).some((p) => JSON.parse(p.Detail).salesOrder.uuid === 'uuid-evt-now-valid')).toBe(true);
  });
});
