/**
 * `statushooks deliveries list|get|resend` and the delivery log's side of `dlq discard`, through
 * the real CLI against the real local runtime, with real receivers on 127.0.0.1.
 */
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDeliveryLog } from '../../lambdas/adapters/delivery-log-store';
import type { DeliveryRecord } from '../../lambdas/core/delivery-log';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import { cli, json, stopLocalRuntime } from './helpers';
import { consoleApp } from '../../cli/console/app';
import { Session } from '../../cli/console/security';
import { resolveTarget } from '../../cli/target';

jest.setTimeout(120_000);

let runtime: LocalRuntime;
let db: DynamoDBDocumentClient;
let log: DynamoDeliveryLog;
let dir: string;
let local: string[];
const servers: http.Server[] = [];

/** An endpoint whose n-th request for a webhook-id gets `answer(n)`; it records every request. */
async function endpoint(answer: (n: number) => { status: number; body?: string }) {
  const requests: Array<{ webhookId: string; body: string }> = [];
  const perId = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const webhookId = String(req.headers['webhook-id']);
      const n = (perId.get(webhookId) ?? 0) + 1;
      perId.set(webhookId, n);
      requests.push({ webhookId, body: Buffer.concat(chunks).toString('utf8') });
      const a = answer(n);
      res.writeHead(a.status, { 'content-type': 'text/plain' }).end(a.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, requests };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'statushooks-deliveries-'));
  const stateFile = path.join(dir, 'dev.json');
  // A breaker threshold above the failures of a test: parked jobs must not wait behind an open circuit.
  runtime = await startLocalRuntime({ retrySchedule: [1, 1, 1, 1], maxAttempts: 3, httpTimeoutMs: 2_000, stateFile, log: () => undefined, context: { breakerThreshold: '50' } });
  db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: runtime.region, endpoint: runtime.endpoints.dynamodb, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }));
  log = new DynamoDeliveryLog(db, runtime.outputs.DeliveryLogTableName!, 30);
  local = ['--local', stateFile];
}, 120_000);

afterAll(async () => {
  db?.destroy();
  await stopLocalRuntime(runtime, servers, dir);
});

async function subscribe(tenant: string, url: string, events = '*'): Promise<string> {
  const created = await cli(['subscriptions', 'create', '--tenant', tenant, '--url', url, '--events', events, '--json', ...local]);
  expect(created.code).toBe(0);
  return json<{ subscriptionId: string }>(created).subscriptionId;
}

async function sendEvent(tenant: string, uuid: string, type = 'return_order.status.changed', number = '100004'): Promise<void> {
  const sent = await cli(['events', 'send', '--type', type, '--tenant', tenant, '--old', 'approved', '--new', 'received', '--uuid', uuid, '--number', number, ...local]);
  expect(sent.code).toBe(0);
}

async function settled(tenant: string, count: number, states: readonly string[] = ['delivered', 'parked']): Promise<DeliveryRecord[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const page = await log.list({ tenantId: tenant, limit: 1000 });
    if (page.records.length === count && page.records.every((r) => states.includes(r.state))) return [...page.records];
    if (Date.now() > deadline) throw new Error(`deliveries of ${tenant} not settled: ${JSON.stringify(page.records.map((r) => [r.deliveryId, r.state]))}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface ListJson {
  deliveries: Array<{ deliveryId: string; tenantId: string; subscriptionId: string; event: string; entityUuid: string; state: string; attempts: number; lastStatusCode: number | null; createdAt: string; updatedAt: string }>;
  next: string | null;
}

test('get shows a delivery that failed twice and then succeeded: three attempts with status codes and response snippets', async () => {
  const e = await endpoint((n) => (n <= 2 ? { status: 503, body: `overloaded, try ${n}` } : { status: 200, body: 'thanks' }));
  const sub = await subscribe('trace-shop', e.url);
  await sendEvent('trace-shop', '11111111-0000-4000-8000-000000000001');
  const [record] = await settled('trace-shop', 1);

  const got = await cli(['deliveries', 'get', record!.deliveryId, '--tenant', 'trace-shop', '--json', ...local]);
  expect(got.code).toBe(0);
  const view = json<{ deliveryId: string; state: string; body: string; subscriptionId: string; attempts: Array<{ attempt: number; at: string; statusCode: number | null; durationMs: number; error: string | null; response: string | null }> }>(got);
  expect(view).toMatchObject({ deliveryId: e.requests[0]!.webhookId, state: 'delivered', subscriptionId: sub, body: e.requests[0]!.body });
  expect(view.attempts.map((a) => [a.attempt, a.statusCode, a.error, a.response])).toEqual([
    [1, 503, null, 'overloaded, try 1'],
    [2, 503, null, 'overloaded, try 2'],
    [3, 200, null, 'thanks'],
  ]);

  const text = await cli(['deliveries', 'get', record!.deliveryId, '--tenant', 'trace-shop', ...local]);
  expect(text.code).toBe(0);
  expect(text.stdout).toContain('state         delivered');
  expect(text.stdout).toMatch(/attempt 2 {2}\S+ {2}HTTP 503 {2}\d+ ms {2}\(retry lane\)\n {2}\| overloaded, try 2/);
  expect(text.stdout).toContain(`  ${e.requests[0]!.body}`);
});

test('list returns exactly the records matching tenant, subscription, entity and state, newest first, page by page', async () => {
  const ok = await endpoint(() => ({ status: 204 }));
  const failing = await endpoint(() => ({ status: 500, body: 'no' }));
  const a = await subscribe('list-shop', ok.url);
  const b = await subscribe('list-shop', ok.url, 'sales_order.status.changed');
  const c = await subscribe('list-shop', failing.url, 'sales_order.status.changed');
  await subscribe('other-shop', ok.url);
  const uuids = ['22222222-0000-4000-8000-000000000001', '22222222-0000-4000-8000-000000000002', '22222222-0000-4000-8000-000000000003'];
  await sendEvent('list-shop', uuids[0]!);
  await sendEvent('list-shop', uuids[1]!, 'sales_order.status.changed');
  await sendEvent('list-shop', uuids[2]!, 'sales_order.status.changed');
  await sendEvent('other-shop', uuids[0]!);
  // a: 3 events; b: 2 sales orders; c: 2 sales orders, parked after 3 attempts.
  const all = await settled('list-shop', 7);

  const list = async (...args: string[]) => {
    const r = await cli(['deliveries', 'list', '--tenant', 'list-shop', '--json', ...args, ...local]);
    expect(r.code).toBe(0);
    return json<ListJson>(r);
  };
  const whole = await list('--limit', '100');
  expect(whole.next).toBeNull();
  expect(whole.deliveries.map((d) => d.deliveryId).sort()).toEqual(all.map((r) => r.deliveryId).sort());
  const created = whole.deliveries.map((d) => d.createdAt);
  expect([...created].sort().reverse()).toEqual(created);
  expect(whole.deliveries.every((d) => d.tenantId === 'list-shop')).toBe(true);

  const ids = (l: ListJson) => l.deliveries.map((d) => d.deliveryId).sort();
  const expected = (pick: (r: DeliveryRecord) => boolean) => all.filter(pick).map((r) => r.deliveryId).sort();
  expect(ids(await list('--subscription', a))).toEqual(expected((r) => r.subscriptionId === a));
  expect(ids(await list('--subscription', b))).toHaveLength(2);
  expect(ids(await list('--entity', uuids[1]!))).toEqual(expected((r) => r.entityUuid === uuids[1]));
  expect(ids(await list('--entity', uuids[1]!))).toHaveLength(3);
  const parked = await list('--state', 'parked');
  expect(ids(parked)).toEqual(expected((r) => r.subscriptionId === c));
  expect(parked.deliveries.map((d) => [d.state, d.attempts, d.lastStatusCode])).toEqual([['parked', 3, 500], ['parked', 3, 500]]);
  expect(ids(await list('--state', 'delivered'))).toEqual(expected((r) => r.subscriptionId !== c));
  expect(ids(await list('--state', 'parked', '--entity', uuids[2]!))).toEqual(expected((r) => r.subscriptionId === c && r.entityUuid === uuids[2]));
  expect((await list('--since', '1m')).deliveries).toHaveLength(7);
  // --until is exclusive: before the first record nothing, from after the last every record; a
  // window between two creation times splits them there.
  const times = [...new Set(all.map((r) => r.createdAt))].sort();
  expect((await list('--until', times[0]!)).deliveries).toEqual([]);
  expect((await list('--until', '0s')).deliveries).toHaveLength(7);
  const cut = times[Math.floor(times.length / 2)]!;
  const before = await list('--since', '1h', '--until', cut);
  expect(ids(before)).toEqual(expected((r) => r.createdAt < cut));
  expect(before.deliveries.length).toBeGreaterThan(0);
  // By the event's id: one delivery per subscription that took it, with the other filters applied.
  const salesEvent = all.find((r) => r.entityUuid === uuids[1])!.eventId;
  expect(ids(await list('--event-id', salesEvent))).toEqual(expected((r) => r.eventId === salesEvent));
  expect(ids(await list('--event-id', salesEvent))).toHaveLength(3);
  expect(ids(await list('--event-id', salesEvent, '--state', 'parked'))).toEqual(expected((r) => r.eventId === salesEvent && r.subscriptionId === c));
  expect((await list('--event-id', 'no-such-event')).deliveries).toEqual([]);
  expect((await list('--since', new Date(Date.now() - 1000 * 60 * 60 * 24 * 10).toISOString(), '--subscription', b)).deliveries).toHaveLength(2);

  // Pages of 3: every record exactly once, in the same order as the whole list.
  const paged: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: ListJson = await list('--limit', '3', ...(cursor ? ['--cursor', cursor] : []));
    expect(page.deliveries.length).toBeLessThanOrEqual(3);
    paged.push(...page.deliveries.map((d) => d.deliveryId));
    cursor = page.next;
    pages++;
  } while (cursor && pages < 10);
  expect(paged).toEqual(whole.deliveries.map((d) => d.deliveryId));
  expect(pages).toBe(3);

  const text = await cli(['deliveries', 'list', '--tenant', 'list-shop', '--limit', '2', ...local]);
  expect(text.stdout).toMatch(/^CREATED +DELIVERY +SUBSCRIPTION +EVENT +ENTITY +STATE +ATTEMPTS +LAST\n/);
  expect(text.stdout).toMatch(/\nmore: add --cursor \S+\n$/);
});

test('an empty list says what else it can mean: a number given as --entity (use --entity-number), and an event no subscription took was never queued', async () => {
  const byNumber = await cli(['deliveries', 'list', '--tenant', 'list-shop', '--entity', '100004', ...local]);
  expect(byNumber.code).toBe(0);
  expect(byNumber.stdout.split('\n')).toEqual([
    'no deliveries for tenant list-shop match',
    'note: --entity takes the entity\'s uuid; "100004" does not look like one: to search by the entity\'s number, use --entity-number 100004',
    expect.stringMatching(/^note: an event none of the tenant's subscriptions took \(paused, disabled, another event, its status filter\) was never queued: fan-out logs it as "no matching subscriptions"/),
    '',
  ]);
  const byUuid = await cli(['deliveries', 'list', '--tenant', 'nobody-shop', '--entity', '90aabf83-d23c-4792-b483-2546b8041379', ...local]);
  expect(byUuid.stdout).not.toContain('does not look like one');
  // As suggested: by number, the deliveries of that entity (every list-shop event has number 100004).
  const suggested = await cli(['deliveries', 'list', '--tenant', 'list-shop', '--entity-number', '100004', '--json', ...local]);
  expect(json<ListJson>(suggested).deliveries).toHaveLength(7);
  const otherNumber = await cli(['deliveries', 'list', '--tenant', 'list-shop', '--entity-number', '100005', ...local]);
  expect(otherNumber.stdout.split('\n')[0]).toBe('no deliveries for tenant list-shop match');
  expect(byUuid.stdout).toContain('no deliveries for tenant nobody-shop match\nnote: an event none');
});

test('the console finds the deliveries of an order by its number or its uuid, from the tenant page', async () => {
  const session = new Session(4557);
  const ui = consoleApp({ target: await resolveTarget({ local: local[1] }), options: {}, session });
  try {
    const host = '127.0.0.1:4557';
    const get = async (p: string) => {
      const res = await ui.app.request(`http://${host}${p}`, { headers: { host, cookie: `${session.cookieName}=${session.token}` } });
      return { status: res.status, page: await res.text() };
    };
    const records = await log.list({ tenantId: 'list-shop', limit: 100 });
    const rowsOf = (page: string) => [...page.matchAll(/<tr data-delivery="([^"]+)"/g)].map((m) => m[1]).sort();
    expect((await get('/tenants/list-shop')).page).toContain('<a href="/tenants/list-shop/deliveries">Find deliveries of an order, parcel or payment</a>');
    const form = await get('/tenants/list-shop/deliveries');
    expect(form.status).toBe(200);
    expect(form.page).toContain('<form method="get" action="/tenants/list-shop/deliveries"');

    // Every list-shop event has number 100004: all its deliveries.
    const byNumber = await get('/tenants/list-shop/deliveries?entity=100004');
    expect(byNumber.status).toBe(200);
    expect(byNumber.page).toContain('Deliveries of entity number <span class="mono">100004</span>');
    expect(rowsOf(byNumber.page)).toEqual(records.records.map((r) => r.deliveryId).sort());
    // By uuid: that entity's deliveries only (its index).
    const uuid = '22222222-0000-4000-8000-000000000002';
    const byUuid = await get(`/tenants/list-shop/deliveries?entity=${uuid}`);
    expect(byUuid.page).toContain(`Deliveries of entity <span class="mono">${uuid}</span>`);
    expect(rowsOf(byUuid.page)).toEqual(records.records.filter((r) => r.entityUuid === uuid).map((r) => r.deliveryId).sort());
    // Nothing of another tenant, and a plain answer when nothing matches.
    const none = await get('/tenants/nobody-shop/deliveries?entity=100004');
    expect(rowsOf(none.page)).toEqual([]);
    expect(none.page).toContain('no deliveries of it');
    expect((await get('/tenants/list-shop/deliveries?entity=100004&by=number&cursor=not-a-cursor')).status).toBe(422);
  } finally {
    ui.close();
  }
});

test('get of a delivery still under way says what holds it back now: the subscription paused, the endpoint\'s open circuit, its rate limit', async () => {
  const created = await cli(['subscriptions', 'create', '--tenant', 'late-shop', '--url', 'https://hooks.example.com/late', '--events', '*', '--max-rps', '2', '--json', ...local]);
  expect(created.code).toBe(0);
  const sub = json<{ subscriptionId: string }>(created).subscriptionId;
  expect((await cli(['subscriptions', 'pause', sub, '--tenant', 'late-shop', ...local])).code).toBe(0);
  await db.send(
    new PutCommand({
      TableName: runtime.outputs.HealthTableName!,
      Item: { tenantId: 'late-shop', subscriptionId: sub, circuit: 'open', consecutiveFailures: 7, firstFailureAt: '2026-12-04T10:00:00.000Z', lastFailureAt: '2026-12-04T10:30:00.000Z', lastError: 'HTTP 500', openedAt: '2026-12-04T10:30:00.000Z' },
    }),
  );
  const facts = { tenantId: 'late-shop', deliveryId: 'msg_late0000000000000000000000000001', subscriptionId: sub, event: 'return_order.status.changed' as const, eventId: 'evt-late', entityUuid: 'u-late', entityNumber: null, body: '{}', occurredAt: '2026-12-04T10:00:00.000Z' };
  await log.logQueued([facts], new Date().toISOString());

  const text = await cli(['deliveries', 'get', facts.deliveryId, '--tenant', 'late-shop', ...local]);
  expect(text.code).toBe(0);
  expect(text.stdout.split('\n').filter((l) => l.startsWith('now: '))).toEqual([
    `now: subscription ${sub} is paused; the job is dropped when it comes up`,
    'now: endpoint circuit open: 7 consecutive failures; last failure 2026-12-04T10:30:00.000Z: HTTP 500 (jobs wait; one probe per interval)',
    'now: rate limit 2 requests per second (a job over it waits, not an attempt)',
  ]);
  // --json is the record alone, as documented.
  const asJson = json<Record<string, unknown>>(await cli(['deliveries', 'get', facts.deliveryId, '--tenant', 'late-shop', '--json', ...local]));
  expect(asJson.state).toBe('pending');
  expect(JSON.stringify(asJson)).not.toContain('now:');
});

test('resend queues the same body with the same webhook-id again; the record keeps its history and shows the new attempt', async () => {
  const e = await endpoint(() => ({ status: 200, body: 'ok' }));
  await subscribe('resend-shop', e.url);
  await sendEvent('resend-shop', '33333333-0000-4000-8000-000000000001');
  const [record] = await settled('resend-shop', 1);
  const resent = await cli(['deliveries', 'resend', record!.deliveryId, '--tenant', 'resend-shop', ...local]);
  expect(resent.code).toBe(0);
  expect(resent.stdout).toContain(`queued delivery ${record!.deliveryId} again`);
  const deadline = Date.now() + 30_000;
  while (e.requests.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(e.requests.map((r) => r.webhookId)).toEqual([record!.deliveryId, record!.deliveryId]);
  expect(e.requests[1]!.body).toBe(e.requests[0]!.body);
  const after = await (async () => {
    const until = Date.now() + 30_000;
    for (;;) {
      const r = await log.get('resend-shop', record!.deliveryId);
      if (r?.attempts.length === 2 && r.state === 'delivered') return r;
      if (Date.now() > until) throw new Error(`resent record not delivered: ${JSON.stringify(r)}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  })();
  expect(after.attempts.map((a) => [a.attempt, a.statusCode])).toEqual([[1, 200], [1, 200]]);
  // The text says where the second send began, so two "attempt 1" lines read as the two sends they were.
  const text = (await cli(['deliveries', 'get', record!.deliveryId, '--tenant', 'resend-shop', ...local])).stdout.split('\n');
  const attemptLines = text.filter((l) => /^attempt |^-- /.test(l));
  // …and what queued it again, when.
  const [requeue] = after.requeues ?? [];
  expect(requeue).toEqual({ at: expect.any(String), by: 'resend' });
  expect(Date.parse(requeue!.at)).toBeGreaterThan(Date.parse(after.attempts[0]!.at));
  expect(Date.parse(requeue!.at)).toBeLessThanOrEqual(Date.parse(after.attempts[1]!.at));
  expect(attemptLines.map((l) => l.replace(/^(attempt \d+) .*$/, '$1'))).toEqual([
    'attempt 1',
    `-- queued again here by a resend on ${requeue!.at}: same body, same webhook-id; attempts count from 1 again`,
    'attempt 1',
  ]);
  const asJson = json<{ requeues: unknown[] }>(await cli(['deliveries', 'get', record!.deliveryId, '--tenant', 'resend-shop', '--json', ...local]));
  expect(asJson.requeues).toEqual([requeue]);
});

test('resend refuses a paused subscription, naming it and its state; an unknown delivery is not found', async () => {
  const e = await endpoint(() => ({ status: 200 }));
  const sub = await subscribe('paused-shop', e.url);
  await sendEvent('paused-shop', '44444444-0000-4000-8000-000000000001');
  const [record] = await settled('paused-shop', 1);
  expect((await cli(['subscriptions', 'pause', sub, '--tenant', 'paused-shop', ...local])).code).toBe(0);
  const refused = await cli(['deliveries', 'resend', record!.deliveryId, '--tenant', 'paused-shop', ...local]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain(`subscription ${sub} of tenant paused-shop is paused`);
  expect(e.requests).toHaveLength(1);

  const missing = await cli(['deliveries', 'get', 'msg_0000', '--tenant', 'paused-shop', ...local]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain('no delivery msg_0000 for tenant paused-shop in the delivery log (never queued, or older than the retention of 30 days)');
});

test('dlq discard marks each discarded delivery discarded in the log', async () => {
  const e = await endpoint(() => ({ status: 500 }));
  await subscribe('discard-shop', e.url);
  await sendEvent('discard-shop', '55555555-0000-4000-8000-000000000001');
  const [record] = await settled('discard-shop', 1, ['parked']);
  const discarded = await cli(['dlq', 'discard', '--id', record!.deliveryId, '--yes', '--json', ...local]);
  expect(discarded.code).toBe(0);
  expect(json<{ logMarked: number }>(discarded).logMarked).toBe(1);
  const after = await log.get('discard-shop', record!.deliveryId);
  expect(after?.state).toBe('discarded');
  expect(after?.reason).toMatch(/^discarded by an operator on \d{4}-/);
  const listed = await cli(['deliveries', 'list', '--tenant', 'discard-shop', '--state', 'discarded', '--json', ...local]);
  expect(json<ListJson>(listed).deliveries.map((d) => d.deliveryId)).toEqual([record!.deliveryId]);
});

test.each([
  [['--state', 'lost'], '--state: unknown state "lost"; expected one of pending, retrying, delivered, parked, dropped, discarded'],
  [['--limit', '5000'], '--limit: at most 1000, got 5000'],
  [['--limit', '0'], "option '--limit <n>' argument '0' is invalid"],
  [['--cursor', 'garbage'], '--cursor: the cursor is not one this command printed'],
  [['--since', 'yesterday'], '--since: expected a duration such as 30m, 24h, 7d or an ISO time'],
  [['--since', '1m', '--until', '2m'], '--until ('],
  [['--until', '2999-01-01T00:00:00Z'], '--until: 2999-01-01T00:00:00Z is in the future'],
  [['--event-id', 'evt-1', '--cursor', 'abc'], "--event-id lists one event's deliveries on one page: it takes no --cursor"],
])('list %p is a usage error (exit 2)', async (args, message) => {
  const r = await cli(['deliveries', 'list', '--tenant', 'any-shop', ...args, ...local]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(message);
});
