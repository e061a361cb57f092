/**
 * `statushooks events replay` through the real CLI and the real local runtime: the local archive
 * keeps the events its pattern accepts, a replay of a window re-delivers exactly the archived
 * events of that window, with their original webhook-ids, through fan-out; --tenant and --event
 * narrow it, --subscription sends them to one subscription only.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DEFAULTS } from '../../lambdas/core/config';
import { deliveryIdFor } from '../../lambdas/core/subscriptions';
import { consoleApp } from '../../cli/console/app';
import { CSRF_FIELD, Session } from '../../cli/console/security';
import { resolveTarget } from '../../cli/target';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import { cli, json, stopLocalRuntime } from './helpers';

jest.setTimeout(120_000);

let runtime: LocalRuntime;
let events: EventBridgeClient;
let dir: string;
let local: string[];
const servers: http.Server[] = [];

interface Received {
  readonly webhookId: string;
  readonly body: string;
}

async function receiver(): Promise<{ url: string; got: Received[] }> {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ webhookId: String(req.headers['webhook-id']), body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'statushooks-replay-'));
  const stateFile = path.join(dir, 'dev.json');
  runtime = await startLocalRuntime({ stateFile, log: () => undefined });
  events = new EventBridgeClient({ region: runtime.region, endpoint: runtime.endpoints.eventbridge, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  local = ['--local', stateFile];
}, 120_000);

afterAll(async () => {
  events?.destroy();
  await stopLocalRuntime(runtime, servers, dir);
});

async function subscribe(tenant: string, url: string): Promise<string> {
  const created = await cli(['subscriptions', 'create', '--tenant', tenant, '--url', url, '--events', '*', '--json', ...local]);
  expect(created.code).toBe(0);
  return json<{ subscriptionId: string }>(created).subscriptionId;
}

/** Puts one event with the given time (as a producer may) and returns its event id. */
async function put(tenant: string, type: string, key: string, uuid: string, time: Date, source = 'returns.cloud'): Promise<string> {
  const out = await events.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: runtime.outputs.EventBusName,
          Source: source,
          DetailType: type,
          Time: time,
          Detail: JSON.stringify({ tenantId: tenant, oldStatus: 'a', newStatus: 'b', [key]: { uuid, number: null, externalId: null } }),
        },
      ],
    }),
  );
  expect(out.FailedEntryCount).toBe(0);
  return out.Entries![0]!.EventId!;
}

async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a replay re-delivers exactly the archived events of its window, with their original webhook-ids; --tenant and --event narrow it', async () => {
  const a = await receiver();
  const b = await receiver();
  const subA = await subscribe('replay-a', a.url);
  const subB = await subscribe('replay-b', b.url);
  const hour = 3_600_000;
  const now = Date.now();
  const e1 = await put('replay-a', 'return_order.status.changed', 'returnOrder', 'r-1', new Date(now - 3 * hour));
  const e2 = await put('replay-a', 'return_order.status.changed', 'returnOrder', 'r-2', new Date(now - 2 * hour));
  const e3 = await put('replay-a', 'sales_order.status.changed', 'salesOrder', 's-3', new Date(now - 1 * hour));
  const e4 = await put('replay-b', 'sales_order.status.changed', 'salesOrder', 's-4', new Date(now - 2 * hour));
  // Not archived: the archive keeps what the fan-out rule accepts (its source and event names).
  await put('replay-a', 'return_order.status.changed', 'returnOrder', 'r-x', new Date(now - 2 * hour), 'someone.else');
  await until('the first deliveries', () => (a.got.length === 3 && b.got.length === 1 ? true : undefined));
  const idOf = (eventId: string, sub: string) => deliveryIdFor(eventId, sub);
  expect(a.got.map((r) => r.webhookId).sort()).toEqual([idOf(e1, subA), idOf(e2, subA), idOf(e3, subA)].sort());

  // The window [now-2.5h, now-0.5h): e2, e3 and e4, not e1.
  const since = new Date(now - 2.5 * hour).toISOString();
  const untilTime = new Date(now - 0.5 * hour).toISOString();
  const replayed = await cli(['events', 'replay', '--since', since, '--until', untilTime, '--wait', '--json', ...local]);
  expect(replayed.code).toBe(0);
  const result = json<{ replayName: string; state: string }>(replayed);
  expect(result.state).toBe('COMPLETED');
  expect(result.replayName).toMatch(/^statushooks-\d{8}T\d{6}-[0-9a-f]{6}$/);
  await until('the replayed deliveries', () => (a.got.length === 5 && b.got.length === 2 ? true : undefined));
  expect(a.got.slice(3).map((r) => r.webhookId).sort()).toEqual([idOf(e2, subA), idOf(e3, subA)].sort());
  expect(b.got[1]!.webhookId).toBe(idOf(e4, subB));
  // The same bytes as the first time.
  expect(a.got.find((r, i) => i >= 3 && r.webhookId === idOf(e2, subA))!.body).toBe(a.got.find((r) => r.webhookId === idOf(e2, subA))!.body);
  // The delivery log continues the record: the first attempt and the replayed one.
  const logged = await cli(['deliveries', 'get', idOf(e2, subA), '--tenant', 'replay-a', '--json', ...local]);
  const record = json<{ state: string; attempts: Array<{ statusCode: number }> }>(logged);
  expect(record.attempts.map((x) => x.statusCode)).toEqual([204, 204]);
  expect(record.state).toBe('delivered');
  // The text names the replay that queued it again, and where its send began.
  const text = (await cli(['deliveries', 'get', idOf(e2, subA), '--tenant', 'replay-a', ...local])).stdout;
  expect(text).toMatch(new RegExp(`^replayed by +${result.replayName} \\(the last replay that queued it again\\)$`, 'm'));
  expect(text).toContain(`-- queued again here by replay ${result.replayName} on `);

  // Only tenant replay-a, only sales orders: e3 alone.
  const narrow = await cli(['events', 'replay', '--since', since, '--until', untilTime, '--tenant', 'replay-a', '--event', 'sales_order.status.changed', '--wait', ...local]);
  expect(narrow.code).toBe(0);
  expect(narrow.stdout).toContain('tenant replay-a, sales_order.status.changed');
  expect(narrow.stdout).toContain('COMPLETED');
  await until('the narrowed replay', () => (a.got.length === 6 ? true : undefined));
  expect(a.got[5]!.webhookId).toBe(idOf(e3, subA));
  // Nothing else arrives: the other events of the window were skipped by fan-out.
  const started = await cli(['events', 'replay', '--since', since, '--until', untilTime, '--tenant', 'replay-b', '--wait', ...local]);
  expect(started.code).toBe(0);
  await until('the replay-b replay', () => (b.got.length === 3 ? true : undefined));
  await new Promise((r) => setTimeout(r, 1500));
  expect(a.got).toHaveLength(6);
  expect(b.got.map((r) => r.webhookId)).toEqual([idOf(e4, subB), idOf(e4, subB), idOf(e4, subB)]);
});

test("--subscription re-delivers the window's events to that subscription only (what it missed while it was paused); the tenant's others get nothing", async () => {
  const missed = await receiver();
  const other = await receiver();
  const subMissed = await subscribe('replay-one', missed.url);
  const subOther = await subscribe('replay-one', other.url);
  expect((await cli(['subscriptions', 'pause', subMissed, '--tenant', 'replay-one', ...local])).code).toBe(0);
  const hour = 3_600_000;
  const now = Date.now();
  const e1 = await put('replay-one', 'return_order.status.changed', 'returnOrder', 'o-1', new Date(now - 2 * hour));
  const e2 = await put('replay-one', 'payment_operation.status.changed', 'paymentOperation', 'o-2', new Date(now - 1 * hour));
  await until('the deliveries to the active subscription', () => (other.got.length === 2 ? true : undefined));
  expect(missed.got).toHaveLength(0);
  expect((await cli(['subscriptions', 'resume', subMissed, '--tenant', 'replay-one', ...local])).code).toBe(0);
  // Fan-out caches a tenant's subscriptions for subscriptionCacheTtlMs (5 s): what it read before the
  // resume has expired once that has passed. (A replay on AWS starts minutes after it is asked for.)
  await new Promise((r) => setTimeout(r, DEFAULTS.subscriptionCacheTtlMs + 1000));

  const replayed = await cli(['events', 'replay', '--since', '3h', '--until', '30m', '--tenant', 'replay-one', '--subscription', subMissed, '--wait', ...local]);
  expect(replayed.code).toBe(0);
  expect(replayed.stderr).toBe('');
  expect(replayed.stdout).toContain(`tenant replay-one, subscription ${subMissed} only, every event type`);
  await until('the replayed deliveries', () => (missed.got.length === 2 ? true : undefined));
  expect(missed.got.map((r) => r.webhookId).sort()).toEqual([deliveryIdFor(e1, subMissed), deliveryIdFor(e2, subMissed)].sort());
  // The other subscription took every event the first time; the replay queues nothing for it.
  await new Promise((r) => setTimeout(r, 1500));
  expect(other.got.map((r) => r.webhookId).sort()).toEqual([deliveryIdFor(e1, subOther), deliveryIdFor(e2, subOther)].sort());
  // --json carries the filter.
  const asJson = await cli(['events', 'replay', '--since', '3h', '--until', '30m', '--tenant', 'replay-one', '--subscription', subMissed, '--event', 'payment_operation.status.changed', '--json', ...local]);
  expect(json(asJson)).toMatchObject({ tenantId: 'replay-one', subscriptionId: subMissed, event: 'payment_operation.status.changed' });
  await until('the narrowed replay', () => (missed.got.length === 3 ? true : undefined));
  expect(missed.got[2]!.webhookId).toBe(deliveryIdFor(e2, subMissed));
});

test("the console's \"Replay what it missed\" on a subscription page replays to that subscription only, and refuses a window it cannot read", async () => {
  const missed = await receiver();
  const other = await receiver();
  const subMissed = await subscribe('replay-console', missed.url);
  await subscribe('replay-console', other.url);
  const e1 = await put('replay-console', 'sales_order.status.changed', 'salesOrder', 'c-1', new Date(Date.now() - 3_600_000));
  await until('the first deliveries', () => (missed.got.length === 1 && other.got.length === 1 ? true : undefined));

  const target = await resolveTarget({ local: local[1]! });
  const session = new Session(4557);
  const app = consoleApp({ target, options: {}, session });
  try {
    const host = '127.0.0.1:4557';
    const headers = { host, cookie: `${session.cookieName}=${session.token}` };
    const pagePath = `/tenants/replay-console/subscriptions/${subMissed}`;
    expect(await (await app.app.request(`http://${host}${pagePath}`, { headers })).text()).toContain(`action="${pagePath}/replay"`);
    const post = (form: Record<string, string>) =>
      app.app.request(`http://${host}${pagePath}/replay`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ [CSRF_FIELD]: session.csrfToken, ...form }).toString(),
      });
    const started = await post({ since: '2h', until: '' });
    expect(started.status).toBe(303);
    const notice = decodeURIComponent(new URL(started.headers.get('location')!, `http://${host}`).searchParams.get('notice') ?? '');
    expect(notice).toMatch(new RegExp(`^replay statushooks-\\S+ started: .+, tenant replay-console, subscription ${subMissed} only, every event type; its deliveries appear below as they are made$`));
    await until('the replayed delivery', () => (missed.got.length === 2 ? true : undefined));
    expect(missed.got[1]!.webhookId).toBe(deliveryIdFor(e1, subMissed));
    await new Promise((r) => setTimeout(r, 1500));
    expect(other.got).toHaveLength(1);
    // A window the CLI would refuse is refused here, next to its field, in the CLI's words; nothing starts.
    const refused = await post({ since: 'yesterday', until: '' });
    expect(refused.status).toBe(422);
    expect(await refused.text()).toContain('--since: expected a duration such as 30m, 24h, 7d or an ISO time');
  } finally {
    app.close();
  }
});

test('--subscription is refused without --tenant, for a subscription the tenant does not have, and against a stack whose fan-out would replay to all', async () => {
  const noTenant = await cli(['events', 'replay', '--since', '1h', '--subscription', 'sub_x', ...local]);
  expect(noTenant.code).toBe(2);
  expect(noTenant.stderr).toContain('error: --subscription needs --tenant: a subscription belongs to one tenant');
  const unknown = await cli(['events', 'replay', '--since', '1h', '--tenant', 'replay-one', '--subscription', 'sub_nobody', ...local]);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain('error: tenant replay-one has no subscription sub_nobody (statushooks subscriptions list --tenant replay-one); nothing replayed');
  // A target without the output (a stack deployed before this filter): its fan-out would ignore it.
  const state = JSON.parse(readFileSync(local[1]!, 'utf8')) as Record<string, unknown>;
  delete state.ReplayFilterKeys;
  const older = path.join(dir, 'older.json');
  writeFileSync(older, JSON.stringify(state));
  const sub = await subscribe('replay-one', (await receiver()).url);
  const refused = await cli(['events', 'replay', '--since', '1h', '--tenant', 'replay-one', '--subscription', sub, '--local', older]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('was deployed before replays could name a subscription: its fan-out would replay to every subscription of tenant replay-one');
  // Without --subscription the same target replays as before.
  expect((await cli(['events', 'replay', '--since', '1m', '--tenant', 'replay-nobody', '--local', older])).code).toBe(0);
});

test('a replay for a tenant warns, before it starts, about each subscription it queues nothing for (paused, disabled) and about a tenant without any', async () => {
  const r = await receiver();
  const active = await subscribe('replay-warn', r.url);
  const paused = await subscribe('replay-warn', r.url);
  expect((await cli(['subscriptions', 'pause', paused, '--tenant', 'replay-warn', ...local])).code).toBe(0);
  const warned = await cli(['events', 'replay', '--since', '1h', '--tenant', 'replay-warn', ...local]);
  expect(warned.code).toBe(0);
  expect(warned.stdout).toMatch(/^replay statushooks-\S+ started: /);
  expect(warned.stderr).toBe(`warning: subscription ${paused} of tenant replay-warn is paused: this replay queues no deliveries for it (resume it first if it should get them)\n`);
  expect(warned.stderr).not.toContain(active);
  const nobody = await cli(['events', 'replay', '--since', '1h', '--tenant', 'replay-nobody', ...local]);
  expect(nobody.code).toBe(0);
  expect(nobody.stderr).toBe('warning: tenant replay-nobody has no subscriptions: this replay queues nothing\n');
});

test.each([
  ['--until before --since', ['--since', '1h', '--until', '2h'], '--until (', 'must be after --since'],
  ['a --since that is no time', ['--since', 'yesterday'], '--since: expected a duration such as 30m, 24h, 7d or an ISO time', ''],
  ['an unknown --event', ['--since', '1h', '--event', 'order.created'], 'unknown event', ''],
  ['a --tenant longer than an event carries', ['--since', '1h', '--tenant', 'x'.repeat(500)], '--tenant is 500 characters long; at most 256 are allowed', ''],
  // 256 characters, but each is escaped in the description's JSON.
  ['a --tenant longer than a description holds', ['--since', '1h', '--tenant', '"'.repeat(256)], "--tenant is too long to carry in the replay's description", ''],
])('replay with %s is a usage error (exit 2)', async (_name, args, message, more) => {
  const r = await cli(['events', 'replay', ...args, ...local]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(message);
  expect(r.stderr).toContain(more);
});
