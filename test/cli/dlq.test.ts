import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Message } from '@aws-sdk/client-sqs';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { buildPayload, parseBusEvent } from '../../lambdas/core/events';
import { buildJob, PARKED_ATTRIBUTES, type DeliveryJob } from '../../lambdas/core/job';
import { deliveryIdFor, newSecret } from '../../lambdas/core/subscriptions';
import { discardParked } from '../../cli/discard';
import { consoleApp } from '../../cli/console/app';
import { CSRF_FIELD, Session } from '../../cli/console/security';
import { resolveTarget } from '../../cli/target';
import { cli, json, peek, purge, putEventsReceived, putItem, send, type Fixture, useFixture } from './helpers';

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

function subscriptionItem(tenantId: string, subscriptionId: string, state: 'active' | 'paused' | 'disabled'): Record<string, unknown> {
  const at = '2026-11-28T10:00:00.000Z';
  return {
    tenantId,
    subscriptionId,
    url: 'https://hooks.example.com/in',
    events: ['*'],
    secret: newSecret(),
    state,
    ...(state === 'disabled' ? { disabledReason: 'endpoint answered 410 Gone' } : {}),
    createdAt: at,
    updatedAt: at,
  };
}

const bodies = (messages: Message[]) => messages.map((m) => m.Body!).sort();

describe('delivery DLQ', () => {
  const a1 = job(1, 'acme-shop', 'sub_a');
  const a2 = job(2, 'acme-shop', 'sub_a');
  const b3 = job(3, 'acme-shop', 'sub_b');
  const c4 = job(4, 'globex', 'sub_c');
  const c5 = job(5, 'globex', 'sub_c');

  beforeAll(async () => {
    // Redrive moves jobs of active subscriptions only (the last describe covers the others).
    for (const [tenantId, subscriptionId] of [['acme-shop', 'sub_a'], ['acme-shop', 'sub_b'], ['globex', 'sub_c']] as const) {
      await putItem(f, subscriptionItem(tenantId, subscriptionId, 'active'));
    }
    await park(a1, 'failed 5 attempts; last: HTTP 500 from https://hooks.acme.example/in');
    await park(a2, '410 Gone: subscription disabled', 1);
    await park(b3);
    await park(c4, 'failed 5 attempts; last: timeout after 10000 ms');
    await park(c5, 'failed 5 attempts; last: connection refused');
    await send(f, f.state.DeliveryDlqUrl, 'this is not a job', { [PARKED_ATTRIBUTES.reason]: { DataType: 'String', StringValue: 'malformed job: delivery job is not JSON' } });
  });

  // The fan-out tests below count which subscriptions their events reach: these must be gone by then.
  afterAll(async () => {
    for (const [tenantId, subscriptionId] of [['acme-shop', 'sub_a'], ['acme-shop', 'sub_b'], ['globex', 'sub_c']] as const) {
      await f.db.send(new DeleteCommand({ TableName: f.state.SubscriptionsTableName, Key: { tenantId, subscriptionId } }));
    }
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

  test('dlq list --tenant / --subscription show only those jobs, read past --limit, and say how much of the queue was read', async () => {
    // One at a time: a listing hides what it has read until it ends, so two at once see parts each.
    const tenant = await cli(['dlq', 'list', '--tenant', 'globex', ...f.local]);
    const sub = await cli(['dlq', 'list', '--tenant', 'acme-shop', '--subscription', 'sub_a', ...f.local]);
    const limited = await cli(['dlq', 'list', '--tenant', 'acme-shop', '--limit', '1', ...f.local]);
    const none = await cli(['dlq', 'list', '--tenant', 'initech', ...f.local]);
    const usage = await cli(['dlq', 'list', '--queue', 'fan-out', '--subscription', 'sub_a', ...f.local]);
    const asJson = await cli(['dlq', 'list', '--subscription', 'sub_b', '--json', ...f.local]);
    const emptyQueue = await cli(['dlq', 'list', '--queue', 'fan-out', '--tenant', 'globex', ...f.local]);

    expect(tenant.code).toBe(0);
    const rows = (r: { stdout: string }) => r.stdout.split('\n').slice(1, -2);
    expect(rows(tenant).map((l) => l.split(/\s+/)[0]).sort()).toEqual([c4.deliveryId, c5.deliveryId].sort());
    expect(tenant.stdout).toMatch(/\n2 shown for tenant globex \(6 messages read of about 6 in the queue\)\n$/);
    expect(rows(sub).map((l) => l.split(/\s+/)[0]).sort()).toEqual([a1.deliveryId, a2.deliveryId].sort());
    expect(sub.stdout).toContain('2 shown for tenant acme-shop, subscription sub_a (');
    expect(rows(limited)).toHaveLength(1);
    expect(limited.stdout).toContain('; --limit reached, there may be more)');
    expect(none).toMatchObject({ code: 0, stdout: 'nothing parked in the delivery DLQ for tenant initech (6 messages read of about 6 in the queue)\n' });
    expect(emptyQueue).toMatchObject({ code: 0, stdout: 'the fan-out DLQ is empty\n' });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--subscription applies to the delivery DLQ only');
    const listed = json<{ scanned: number; scanComplete: boolean; jobs: { deliveryId: string }[] }>(asJson);
    expect(listed).toMatchObject({ scanned: 6, scanComplete: true });
    expect(listed.jobs.map((j) => j.deliveryId)).toEqual([b3.deliveryId]);
    // Nothing consumed.
    expect(await peek(f, f.state.DeliveryDlqUrl)).toHaveLength(6);
  });

  test('the console\'s Dead letters page of one tenant, or of one subscription, shows only its jobs, and its forms come back to it', async () => {
    const target = await resolveTarget({ local: f.devFile });
    const session = new Session(4556);
    const app = consoleApp({ target, options: {}, session });
    try {
      const host = '127.0.0.1:4556';
      const get = async (p: string) => {
        const res = await app.app.request(`http://${host}${p}`, { headers: { host, cookie: `${session.cookieName}=${session.token}` } });
        return { status: res.status, page: await res.text() };
      };
      /** The filtered page: 200, its heading, exactly `shown` of the six parked jobs, what it read, and forms that come back to it. */
      const filteredPage = async (query: string, expected: { heading: string; shown: DeliveryJob[]; read: string; action: string }) => {
        const r = await get(`/dlq?${query}`);
        expect(r.status).toBe(200);
        expect(r.page).toContain(expected.heading);
        for (const j of [a1, a2, b3, c4, c5]) {
          if (expected.shown.includes(j)) expect(r.page).toContain(j.deliveryId);
          else expect(r.page).not.toContain(j.deliveryId);
        }
        expect(r.page).toContain(expected.read);
        expect(r.page).toContain(`action="${expected.action}"`);
        return r.page;
      };
      const globex = await filteredPage('tenant=globex', {
        heading: 'Dead letters of tenant <a href="/tenants/globex">globex</a>',
        shown: [c4, c5],
        read: '2 of tenant globex, 6 messages read of about 6',
        action: '/dlq/delivery?tenant=globex',
      });
      expect(globex).toContain('the fan-out DLQ is empty');
      // The tenant page links to it.
      expect((await get('/tenants/globex')).page).toContain('<a href="/dlq?tenant=globex">Dead letters of this tenant</a>');
      // One subscription's: only its jobs; the fan-out DLQ (events, not jobs) is not filtered by it, and says so.
      const subA = await filteredPage('tenant=acme-shop&subscription=sub_a', {
        heading: 'Dead letters of subscription <a class="mono" href="/tenants/acme-shop/subscriptions/sub_a">sub_a</a> (tenant <a href="/tenants/acme-shop">acme-shop</a>)',
        shown: [a1, a2],
        read: '2 of subscription sub_a of tenant acme-shop, 6 messages read of about 6',
        action: '/dlq/delivery?tenant=acme-shop&amp;subscription=sub_a',
      });
      expect(subA).toContain('Not filtered by subscription: these are events, not yet jobs of one subscription.');
      expect(subA).toContain('<a href="/dlq?tenant=acme-shop">All dead letters of tenant acme-shop</a>');
      expect((await get('/dlq?tenant=acme-shop&subscription=sub_nobody')).page).toContain('nothing parked in the delivery DLQ for subscription sub_nobody of tenant acme-shop');
      // The subscription page links to it; a confirmation goes back to it.
      expect((await get('/tenants/acme-shop/subscriptions/sub_a')).page).toContain('<a href="/dlq?tenant=acme-shop&amp;subscription=sub_a">Dead letters of this subscription</a>');
      const asked = await app.app.request(`http://${host}/dlq/delivery?tenant=acme-shop&subscription=sub_a`, {
        method: 'POST',
        headers: { host, cookie: `${session.cookieName}=${session.token}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ [CSRF_FIELD]: session.csrfToken, id: a1.deliveryId, action: 'discard' }).toString(),
      });
      const confirmation = await asked.text();
      expect(confirmation).toContain('Discard 1 message from the delivery DLQ for good?');
      expect(confirmation).toContain('<a href="/dlq?tenant=acme-shop&amp;subscription=sub_a">Cancel</a>');
      expect(confirmation).toContain('action="/dlq/delivery?tenant=acme-shop&amp;subscription=sub_a"');
      // A tenant id the CLI would refuse is refused here too, with the CLI's words.
      const bad = await get(`/dlq?tenant=${encodeURIComponent('a'.repeat(300))}`);
      expect(bad.status).toBe(422);
      expect(bad.page).toContain('error: tenant is 300 characters long; at most 256 are allowed');
      // Nothing consumed.
      expect(await peek(f, f.state.DeliveryDlqUrl)).toHaveLength(6);
    } finally {
      app.close();
    }
  });

  test('redrive --subscription moves only that subscription\'s jobs, with their delivery ids, and leaves the others parked', async () => {
    const r = await cli(['dlq', 'redrive', '--subscription', 'sub_a', '--tenant', 'acme-shop', ...f.local]);

    expect(r.code).toBe(0);
    expect(r.stdout).toContain('moved 2 jobs from the delivery DLQ to the delivery queue');
    expect(r.stdout).toContain('4 left in the delivery DLQ');
    // The original jobs, so the same delivery ids (webhook-id) and bodies; fresh messages with
    // attempts and deadline starting again.
    const queued = await peek(f, f.state.DeliveryQueueUrl);
    const jobsQueued = queued.map((m) => JSON.parse(m.Body!) as Record<string, unknown>).sort((x, y) => String(x.deliveryId).localeCompare(String(y.deliveryId)));
    expect(jobsQueued.map(({ queuedAt: _q, ...rest }) => rest)).toEqual([a1, a2].map((j) => ({ ...j, attempts: 0, recorded: true })).sort((x, y) => x.deliveryId.localeCompare(y.deliveryId)));
    for (const j of jobsQueued) expect(Date.parse(String(j.queuedAt))).toBeGreaterThan(Date.now() - 60_000);
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

  test('redrive --id selects exactly the named jobs (here in a dry run: nothing moves)', async () => {
    const r = await cli(['dlq', 'redrive', '--id', b3.deliveryId, '--dry-run', '--json', ...f.local]);

    expect(r.code).toBe(0);
    const report = json<{ moved: { id: string }[]; notSelected: number; dryRun: boolean }>(r);
    expect(report.moved.map((m) => m.id)).toEqual([b3.deliveryId]);
    expect(report.dryRun).toBe(true);
    expect(report.notSelected).toBe(2);
    expect(await peek(f, f.state.DeliveryDlqUrl)).toHaveLength(3);
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

describe('delivery DLQ: jobs of subscriptions that are not active', () => {
  const paused = job(20, 'inactive-co', 'sub_paused');
  const disabled = job(21, 'inactive-co', 'sub_disabled');
  const deleted = job(22, 'inactive-co', 'sub_deleted');
  const active = job(23, 'inactive-co', 'sub_active');

  beforeAll(async () => {
    await putItem(f, subscriptionItem('inactive-co', 'sub_paused', 'paused'));
    await putItem(f, subscriptionItem('inactive-co', 'sub_disabled', 'disabled'));
    await putItem(f, subscriptionItem('inactive-co', 'sub_active', 'active'));
    for (const j of [paused, disabled, deleted]) await park(j, 'failed 5 attempts; last: HTTP 500');
  });

  test('are skipped with a warning naming the subscription and its state; nothing moved → exit 1; they stay parked', async () => {
    const before = (await peek(f, f.state.DeliveryQueueUrl)).length;
    const r = await cli(['dlq', 'redrive', '--tenant', 'inactive-co', ...f.local]);

    expect(r.code).toBe(1);
    expect(r.stdout).toContain('moved 0 jobs');
    expect(r.stderr).toContain(`warning: skipped ${paused.deliveryId}: subscription sub_paused of tenant inactive-co is paused: left parked (--force moves it anyway)`);
    expect(r.stderr).toContain(`warning: skipped ${disabled.deliveryId}: subscription sub_disabled of tenant inactive-co is disabled`);
    expect(r.stderr).toContain(`warning: skipped ${deleted.deliveryId}: subscription sub_deleted of tenant inactive-co is deleted`);
    expect((await peek(f, f.state.DeliveryQueueUrl)).length).toBe(before);
    const left = bodies(await peek(f, f.state.DeliveryDlqUrl));
    for (const j of [paused, disabled, deleted]) expect(left).toContain(JSON.stringify(j));
  });

  test('a dry run says the same; with an active one among them, that one moves and the run exits 0', async () => {
    const dry = await cli(['dlq', 'redrive', '--tenant', 'inactive-co', '--dry-run', ...f.local]);
    expect(dry.code).toBe(1);
    expect(dry.stderr).toContain('subscription sub_paused of tenant inactive-co is paused');

    await park(active, 'failed 5 attempts; last: HTTP 503');
    const r = await cli(['dlq', 'redrive', '--tenant', 'inactive-co', '--json', ...f.local]);
    expect(r.code).toBe(0);
    const report = json<{ moved: { id: string }[]; inactive: number }>(r);
    expect(report.moved.map((m) => m.id)).toEqual([active.deliveryId]);
    expect(report.inactive).toBe(3);
  });

  test('--max counts only jobs that can move: parked jobs of inactive subscriptions never take the place of one that can', async () => {
    const movable = job(24, 'inactive-co', 'sub_active');
    await park(movable, 'failed 5 attempts; last: HTTP 503');
    // SQS returns the four parked jobs in any order; whichever comes first, the movable one is chosen.
    for (let run = 0; run < 3; run++) {
      const dry = await cli(['dlq', 'redrive', '--tenant', 'inactive-co', '--max', '1', '--dry-run', '--json', ...f.local]);
      expect(dry.code).toBe(0);
      expect(json<{ moved: { id: string }[] }>(dry).moved.map((m) => m.id)).toEqual([movable.deliveryId]);
    }
    const r = await cli(['dlq', 'redrive', '--tenant', 'inactive-co', '--max', '1', '--json', ...f.local]);
    expect(r.code).toBe(0);
    expect(json<{ moved: { id: string }[] }>(r).moved.map((m) => m.id)).toEqual([movable.deliveryId]);
  });

  test('--force moves them anyway', async () => {
    const r = await cli(['dlq', 'redrive', '--tenant', 'inactive-co', '--force', '--json', ...f.local]);
    expect(r.code).toBe(0);
    expect(json<{ moved: { id: string }[] }>(r).moved.map((m) => m.id).sort()).toEqual([paused, disabled, deleted].map((j) => j.deliveryId).sort());
    const left = bodies(await peek(f, f.state.DeliveryDlqUrl));
    for (const j of [paused, disabled, deleted]) expect(left).not.toContain(JSON.stringify(j));
  });

  test('--force is refused for the fan-out queue', async () => {
    const r = await cli(['dlq', 'redrive', '--queue', 'fan-out', '--force', ...f.local]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--force applies to --queue delivery only');
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
  const lambdaFailure = (payload: unknown) =>
    JSON.stringify({
      version: '1.0',
      timestamp: new Date(Date.now() - 600_000).toISOString(),
      requestContext: { requestId: 'r', functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:fan-out:$LATEST', condition: 'RetriesExhausted', approximateInvokeCount: 3 },
      requestPayload: payload,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: 'QueueSendError', errorMessage: '1 of 2 messages were not accepted by SQS' },
    });
  const rejected = event('evt-rejected', 'acme-shop', { newStatus: '' });
  const timedOut = event('evt-timeout', 'acme-shop');
  const throttled = event('evt-throttled', 'globex');
  // Rejected by an older, stricter validator: the current one accepts it.
  const nowValid = event('evt-now-valid', 'acme-shop');

  const subscription = (tenantId: string, subscriptionId: string, events: string[], state = 'active') => ({
    tenantId,
    subscriptionId,
    url: `https://hooks.example.com/${subscriptionId}`,
    events,
    secret: newSecret(),
    state,
    createdAt: '2025-11-01T00:00:00.000Z',
    updatedAt: '2025-11-01T00:00:00.000Z',
  });
  /** The subscriptions of acme-shop that sales_order.status.changed reaches; globex has one. */
  const acmeTargets = ['sub_all', 'sub_orders'];

  /** The delivery jobs queued now, by event id. */
  async function queuedJobs(): Promise<DeliveryJob[]> {
    return (await peek(f, f.state.DeliveryQueueUrl)).map((m) => JSON.parse(m.Body!) as DeliveryJob);
  }

  beforeAll(async () => {
    // The delivery DLQ tests above left jobs in the delivery queue; these tests count their own.
    await purge(f, f.state.DeliveryQueueUrl);
    await putItem(f, subscription('acme-shop', 'sub_all', ['*']));
    await putItem(f, subscription('acme-shop', 'sub_orders', ['sales_order.status.changed']));
    await putItem(f, subscription('acme-shop', 'sub_returns', ['return_order.status.changed']));
    await putItem(f, subscription('acme-shop', 'sub_paused', ['*'], 'paused'));
    await putItem(f, { tenantId: 'acme-shop', subscriptionId: 'sub_broken', url: 'https://hooks.example.com/x', events: ['*'], state: 'active' });
    await putItem(f, subscription('globex', 'sub_g', ['*']));

    // (1) written by fan-out for an invalid event
    await send(f, f.state.FanOutDlqUrl, JSON.stringify({ kind: 'rejected-event', reason: 'invalid sales_order.status.changed event: detail.newStatus: must be a non-empty string', rejectedAt: new Date().toISOString(), event: rejected }));
    await send(f, f.state.FanOutDlqUrl, JSON.stringify({ kind: 'rejected-event', reason: 'invalid (older validator)', rejectedAt: new Date().toISOString(), event: nowValid }));
    // (2) Lambda's async on-failure destination record
    await send(f, f.state.FanOutDlqUrl, lambdaFailure(timedOut));
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
    expect(byId['evt-timeout']).toMatchObject({ kind: 'lambda-failure', tenantId: 'acme-shop', attempts: 3, reason: 'RetriesExhausted: QueueSendError: 1 of 2 messages were not accepted by SQS' });
    expect(byId['evt-timeout']!).toHaveProperty('ageSeconds', expect.any(Number));
    expect(byId['evt-throttled']).toMatchObject({ kind: 'rule-target-failure', tenantId: 'globex', reason: 'ThrottlingException: Rate exceeded' });
    expect(byId['evt-now-valid']).toMatchObject({ kind: 'rejected-event', reason: 'invalid (older validator)' });
    expect(await peek(f, f.state.FanOutDlqUrl)).toHaveLength(4);
  });

  test('redrive --queue fan-out runs the original events through fan-out with their own event ids: the same delivery ids as the first time', async () => {
    // Prepare: the first fan-out of evt-timeout got one of its two jobs into the queue before
    // SendMessageBatch failed for the other (what the Lambda failure record above reports).
    const firstTime = buildJob(parseBusEvent(timedOut), 'sub_all', buildPayload(parseBusEvent(timedOut)));
    await send(f, f.state.DeliveryQueueUrl, JSON.stringify(firstTime));

    // Act
    const [usage, r] = await Promise.all([
      cli(['dlq', 'redrive', '--queue', 'fan-out', '--subscription', 'sub_a', ...f.local]),
      cli(['dlq', 'redrive', '--queue', 'fan-out', '--json', ...f.local]),
    ]);

    // Assess
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--subscription applies to the delivery DLQ only');
    expect(r.code).toBe(0);
    const report = json<{ moved: { id: string; tenantId: string; deliveryIds: string[] }[]; skipped: { id: string; reason: string }[]; remaining: number; unreleased: number }>(r);
    const moved = Object.fromEntries(report.moved.map((m) => [m.id, m]));
    expect(Object.keys(moved).sort()).toEqual(['evt-throttled', 'evt-timeout']);
    expect(moved['evt-timeout']).toMatchObject({ tenantId: 'acme-shop', deliveryIds: acmeTargets.map((s) => deliveryIdFor('evt-timeout', s)) });
    expect(moved['evt-throttled']).toMatchObject({ tenantId: 'globex', deliveryIds: [deliveryIdFor('evt-throttled', 'sub_g')] });
    expect(report.skipped.map((x) => x.id).sort()).toEqual(['evt-now-valid', 'evt-rejected']);
    expect(report.skipped[0]!.reason).toContain('use --include-rejected');
    expect(report.remaining).toBe(2);
    expect(report.unreleased).toBe(0);
    // fan-out skipped the broken item, as the function does, and the operator hears of it.
    expect(r.stderr).toContain('warning: tenant acme-shop: subscription item is invalid and was skipped: sub_broken: invalid subscription item');

    // The delivery queue: one job per matching active subscription, with the delivery id of
    // (original event id, subscription id); the job queued the first time has the same id as its
    // redriven copy, so the receiver dedupes it.
    const jobs = await queuedJobs();
    for (const j of jobs) expect(j.deliveryId).toBe(deliveryIdFor(j.eventId, j.subscriptionId));
    expect(jobs.map((j) => `${j.eventId} ${j.subscriptionId}`).sort()).toEqual(['evt-throttled sub_g', 'evt-timeout sub_all', 'evt-timeout sub_all', 'evt-timeout sub_orders']);
    const redriven = jobs.filter((j) => j.eventId === 'evt-timeout' && j.subscriptionId === 'sub_all');
    // The same job as the first time, queued anew (its deadline starts with this fan-out).
    const { queuedAt: _first, ...firstJob } = firstTime;
    for (const j of redriven) expect({ ...j, queuedAt: undefined }).toEqual({ ...firstJob, queuedAt: undefined });
    expect(JSON.parse(jobs.find((j) => j.eventId === 'evt-throttled')!.body)).toEqual({
      event: 'sales_order.status.changed',
      oldStatus: 'new',
      newStatus: 'shipped',
      salesOrder: { number: '42', uuid: 'uuid-evt-throttled', externalId: null },
    });
    // Nothing went through the bus (that would give the events new ids).
    expect(await putEventsReceived(f)).toEqual([]);
    expect((await peek(f, f.state.FanOutDlqUrl)).map((m) => JSON.parse(m.Body!).kind)).toEqual(['rejected-event', 'rejected-event']);
  });

  test('redrive --include-rejected retries a rejected event only if the current validator accepts it; the other stays parked', async () => {
    await purge(f, f.state.DeliveryQueueUrl);

    const r = await cli(['dlq', 'redrive', '--queue', 'fan-out', '--include-rejected', '--json', ...f.local]);

    expect(r.code).toBe(0);
    const report = json<{ moved: { id: string; deliveryIds: string[] }[]; skipped: { id: string; reason: string }[] }>(r);
    expect(report.moved).toEqual([expect.objectContaining({ id: 'evt-now-valid', deliveryIds: acmeTargets.map((s) => deliveryIdFor('evt-now-valid', s)) })]);
    expect(report.skipped).toEqual([{ messageId: expect.any(String), id: 'evt-rejected', reason: expect.stringMatching(/^still invalid: .*detail.newStatus: must be a non-empty string/) }]);
    // Left where it was, not parked a second time.
    const left = await peek(f, f.state.FanOutDlqUrl);
    expect(left.map((m) => JSON.parse(m.Body!))).toEqual([expect.objectContaining({ kind: 'rejected-event', event: rejected })]);
    const jobs = await queuedJobs();
    expect(jobs.map((j) => [j.eventId, j.subscriptionId, j.deliveryId])).toEqual(
      expect.arrayContaining(acmeTargets.map((s) => ['evt-now-valid', s, deliveryIdFor('evt-now-valid', s)])),
    );
    expect(jobs).toHaveLength(2);
  });

  test('an event whose jobs the delivery queue refuses stays parked, and the run exits 1', async () => {
    // Prepare: another failure record, and a target whose delivery queue does not exist.
    const retried = event('evt-retry', 'globex');
    await send(f, f.state.FanOutDlqUrl, lambdaFailure(retried));
    const broken = path.join(f.dir, 'fan-out-no-delivery-queue.json');
    writeFileSync(broken, JSON.stringify({ ...JSON.parse(readFileSync(f.devFile, 'utf8')), DeliveryQueueUrl: f.state.DeliveryQueueUrl.replace(/[^/]+$/, 'no-such-queue') }));

    const r = await cli(['dlq', 'redrive', '--queue', 'fan-out', '--tenant', 'globex', '--local', broken]);

    expect(r.code).toBe(1);
    expect(r.stdout).toContain('moved 0 events from the fan-out DLQ through fan-out to the delivery queue');
    expect(r.stdout).toMatch(/failed evt-retry: fan-out failed: .* \(left parked\)/);
    expect((await peek(f, f.state.FanOutDlqUrl)).map((m) => JSON.parse(m.Body!).requestPayload?.id ?? JSON.parse(m.Body!).event.id).sort()).toEqual(['evt-rejected', 'evt-retry']);

    // With the queue back, the same event goes through (text output).
    const again = await cli(['dlq', 'redrive', '--queue', 'fan-out', '--tenant', 'globex', ...f.local]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('moved 1 event from the fan-out DLQ through fan-out to the delivery queue (original event ids)');
    expect(again.stdout).toContain(`  evt-retry  tenant globex → 1 delivery job queued: ${deliveryIdFor('evt-retry', 'sub_g')}`);
  });

  test('redrive --include-rejected leaves an event of a source the target does not accept parked, with that reason', async () => {
    // Prepare: a valid detail under a mistyped source, parked by fan-out; a target that says its sources.
    const wrongSource = { ...event('evt-wrong-source', 'globex'), source: 'return.cloud' };
    await send(f, f.state.FanOutDlqUrl, JSON.stringify({ kind: 'rejected-event', reason: 'unknown source "return.cloud"', rejectedAt: new Date().toISOString(), event: wrongSource }));
    const withSources = path.join(f.dir, 'with-sources.json');
    const dev = JSON.parse(readFileSync(f.devFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(withSources, JSON.stringify({ ...dev, EventSources: 'returns.cloud' }));

    const r = await cli(['dlq', 'redrive', '--queue', 'fan-out', '--tenant', 'globex', '--include-rejected', '--json', '--local', withSources]);

    expect(r.code).toBe(0);
    const report = json<{ moved: unknown[]; skipped: { id: string; reason: string }[] }>(r);
    expect(report.moved).toEqual([]);
    expect(report.skipped).toEqual([expect.objectContaining({ id: 'evt-wrong-source', reason: 'still invalid: unknown source "return.cloud" (did you mean "returns.cloud"?); this stack accepts "returns.cloud"' })]);
    expect((await peek(f, f.state.FanOutDlqUrl)).map((m) => JSON.parse(m.Body!).event?.id)).toContain('evt-wrong-source');
  });
});

describe('dlq discard', () => {
  const d1 = job(40, 'doomed-co', 'sub_d');
  const d2 = job(41, 'doomed-co', 'sub_d');
  const keep = job(42, 'doomed-co', 'sub_d');
  const inDlq = async () => bodies(await peek(f, f.state.DeliveryDlqUrl));

  beforeAll(async () => {
    for (const j of [d1, d2, keep]) await park(j, 'failed 5 attempts; last: HTTP 404');
  });

  test('refuses without a selection, or without --yes when nobody can be asked; nothing is touched', async () => {
    const before = await inDlq();
    const none = await cli(['dlq', 'discard', ...f.local]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('give either --id <id>... or --all');
    const both = await cli(['dlq', 'discard', '--all', '--id', d1.deliveryId, '--yes', ...f.local]);
    expect(both.code).toBe(2);
    const unasked = await cli(['dlq', 'discard', '--id', d1.deliveryId, ...f.local]);
    expect(unasked.code).toBe(2);
    expect(unasked.stderr).toContain('pass --yes to discard without asking');
    expect(await inDlq()).toEqual(before);
  });

  test('an operator who does not say yes discards nothing, and every message stays parked', async () => {
    const asked: string[][] = [];
    const report = await discardParked(f.sqs, f.state.DeliveryDlqUrl, 'delivery', { ids: [d1.deliveryId] }, async (candidates) => {
      asked.push(candidates.map((c) => c.id!));
      return false;
    });
    expect(asked).toEqual([[d1.deliveryId]]);
    expect(report).toMatchObject({ discarded: [], cancelled: true, unreleased: 0 });
    expect(await inDlq()).toContain(JSON.stringify(d1));
    // Released at once: visible to the next reader.
    expect((await peek(f, f.state.DeliveryDlqUrl)).map((m) => m.Body)).toContain(JSON.stringify(d1));
  });

  test('--id deletes exactly the named messages (by delivery id or message id) and says what went', async () => {
    const messageIdOfD2 = (await peek(f, f.state.DeliveryDlqUrl)).find((m) => m.Body === JSON.stringify(d2))!.MessageId!;
    const r = await cli(['dlq', 'discard', '--id', d1.deliveryId, messageIdOfD2, '--yes', ...f.local]);

    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('discarded 2 messages from the delivery DLQ');
    expect(r.stdout).toContain(`  ${d1.deliveryId}  tenant doomed-co  sub_d  failed 5 attempts; last: HTTP 404`);
    const left = await inDlq();
    expect(left).not.toContain(JSON.stringify(d1));
    expect(left).not.toContain(JSON.stringify(d2));
    expect(left).toContain(JSON.stringify(keep));
  });

  test('an id that is not parked is named, and a run that discards nothing exits 1', async () => {
    const r = await cli(['dlq', 'discard', '--id', 'msg_not_here', '--yes', '--json', ...f.local]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('warning: msg_not_here is not in the delivery DLQ');
    expect(json<{ discarded: unknown[]; notFound: string[] }>(r)).toMatchObject({ discarded: [], notFound: ['msg_not_here'] });
    expect(await inDlq()).toContain(JSON.stringify(keep));
  });

  test('--queue fan-out --all --yes empties the fan-out DLQ and leaves the delivery DLQ alone', async () => {
    await send(f, f.state.FanOutDlqUrl, JSON.stringify({ kind: 'rejected-event', reason: 'hopeless', rejectedAt: new Date().toISOString(), event: { id: 'evt-hopeless' } }));
    const delivery = await inDlq();
    const r = await cli(['dlq', 'discard', '--queue', 'fan-out', '--all', '--yes', '--json', ...f.local]);
    expect(r.code).toBe(0);
    const report = json<{ discarded: { id: string | null }[]; remaining: number }>(r);
    expect(report.discarded.length).toBeGreaterThan(0);
    expect(report.discarded.map((c) => c.id)).toContain('evt-hopeless');
    expect(report.remaining).toBe(0);
    expect(await peek(f, f.state.FanOutDlqUrl)).toEqual([]);
    expect(await inDlq()).toEqual(delivery);
  });
});
