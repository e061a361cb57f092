/**
 * The CLI side of endpoint isolation against the local runtime: `--max-rps` on create and update,
 * endpoint health in `subscriptions get` and `list`, resume and a new URL resetting the breaker, and
 * `events operational`.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoHealthStore } from '../../lambdas/adapters/health-store';
import { OperationalEvents } from '../../lambdas/adapters/operational-events';
import type { Subscription } from '../../lambdas/core/subscriptions';
import { cli, getItem, json, putItem, type Fixture, useFixture } from './helpers';

jest.setTimeout(60_000);

let f: Fixture;
useFixture((started) => (f = started), 'runtime');

const TENANT = 'health-shop';

async function create(...extra: string[]): Promise<Subscription> {
  const r = await cli(['subscriptions', 'create', '--tenant', TENANT, '--url', 'https://hooks.example.com/in', '--events', '*', '--json', ...extra, ...f.local]);
  expect(r).toMatchObject({ code: 0, stderr: '' });
  return json<Subscription>(r);
}

async function putHealth(subscriptionId: string, fields: Record<string, unknown>): Promise<void> {
  await f.db.send(new PutCommand({ TableName: f.state.HealthTableName!, Item: { tenantId: TENANT, subscriptionId, ...fields } }));
}

describe('--max-rps', () => {
  test('is validated by the subscription rule on create and update, stored, shown and removable', async () => {
    const bad = await Promise.all(
      ['0', '1.5', '1001', 'ten', '-3'].map((v) => cli(['subscriptions', 'create', '--tenant', TENANT, '--url', 'https://hooks.example.com/in', '--events', '*', '--max-rps', v, ...f.local])),
    );
    for (const r of bad) {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^error: --max-rps: maxRequestsPerSecond must be a whole number from 1 to 1000, or absent for no limit, got "/);
      expect(r.stdout).toBe('');
    }

    const sub = await create('--max-rps', '20');
    expect(sub.maxRequestsPerSecond).toBe(20);
    expect((await getItem(f, TENANT, sub.subscriptionId))?.maxRequestsPerSecond).toBe(20);
    const text = await cli(['subscriptions', 'get', sub.subscriptionId, '--tenant', TENANT, ...f.local]);
    expect(text.stdout).toMatch(/^maxRequestsPerSecond\s+20 \(rate limit\)$/m);

    const tooMany = await cli(['subscriptions', 'update', sub.subscriptionId, '--tenant', TENANT, '--max-rps', '5000', ...f.local]);
    expect(tooMany.code).toBe(2);
    expect((await getItem(f, TENANT, sub.subscriptionId))?.maxRequestsPerSecond).toBe(20);

    const lowered = await cli(['subscriptions', 'update', sub.subscriptionId, '--tenant', TENANT, '--max-rps', '3', '--json', ...f.local]);
    expect(json<Subscription>(lowered).maxRequestsPerSecond).toBe(3);
    const removed = await cli(['subscriptions', 'update', sub.subscriptionId, '--tenant', TENANT, '--no-max-rps', '--json', ...f.local]);
    expect(removed.code).toBe(0);
    expect(json<Subscription>(removed).maxRequestsPerSecond).toBeUndefined();
    expect((await getItem(f, TENANT, sub.subscriptionId))?.maxRequestsPerSecond).toBeUndefined();
  });
});

describe('endpoint health', () => {
  test('get and list show the breaker: an open circuit with its failures and last error, healthy otherwise', async () => {
    const failing = await create();
    const fine = await create();
    await putHealth(failing.subscriptionId, {
      circuit: 'open',
      consecutiveFailures: 7,
      firstFailureAt: '2026-12-01T10:00:00.000Z',
      lastFailureAt: '2026-12-01T10:30:00.000Z',
      lastError: 'timeout: no answer within 10000 ms',
      openedAt: '2026-12-01T10:30:00.000Z',
      lastSuccessAt: '2026-11-30T09:00:00.000Z',
    });

    const got = json<{ health: Record<string, unknown> }>(await cli(['subscriptions', 'get', failing.subscriptionId, '--tenant', TENANT, '--json', ...f.local]));
    expect(got.health).toEqual({
      circuit: 'open',
      consecutiveFailures: 7,
      lastSuccessAt: '2026-11-30T09:00:00.000Z',
      lastFailureAt: '2026-12-01T10:30:00.000Z',
      lastError: 'timeout: no answer within 10000 ms',
      slowUntil: null,
    });
    const healthy = json<{ health: Record<string, unknown> }>(await cli(['subscriptions', 'get', fine.subscriptionId, '--tenant', TENANT, '--json', ...f.local]));
    expect(healthy.health).toEqual({ circuit: 'closed', consecutiveFailures: 0, lastSuccessAt: null, lastFailureAt: null, lastError: null, slowUntil: null });

    const text = await cli(['subscriptions', 'get', failing.subscriptionId, '--tenant', TENANT, ...f.local]);
    expect(text.stdout).toMatch(/^health\s+circuit open: 7 consecutive failures; last failure 2026-12-01T10:30:00.000Z: timeout: no answer within 10000 ms; last success 2026-11-30T09:00:00.000Z$/m);

    const list = await cli(['subscriptions', 'list', '--tenant', TENANT, ...f.local]);
    expect(list.code).toBe(0);
    const header = list.stdout.split('\n')[0]!;
    expect(header).toMatch(/^SUBSCRIPTION\s+STATE\s+HEALTH\s+EVENTS/);
    expect(list.stdout.split('\n').find((l) => l.startsWith(failing.subscriptionId))).toMatch(/\sactive\s+open \(7\)\s/);
    expect(list.stdout.split('\n').find((l) => l.startsWith(fine.subscriptionId))).toMatch(/\sactive\s+healthy\s/);
    const listed = json<{ subscriptions: { subscriptionId: string; health: { circuit: string } }[] }>(await cli(['subscriptions', 'list', '--tenant', TENANT, '--json', ...f.local]));
    expect(listed.subscriptions.find((s) => s.subscriptionId === failing.subscriptionId)?.health.circuit).toBe('open');
  });

  test('a subscription disabled by a 410 Gone shows gone (410) as its health, not healthy', async () => {
    const gone = await create();
    const failedOut = await create();
    const item = (await getItem(f, TENANT, gone.subscriptionId))!;
    // What the delivery function writes on 410 Gone, and after failing for disableAfterHours.
    await putItem(f, { ...item, state: 'disabled', disabledReason: `endpoint answered 410 Gone on 2026-12-01T10:00:00.000Z (delivery msg_1)` });
    await putItem(f, { ...(await getItem(f, TENANT, failedOut.subscriptionId))!, state: 'disabled', disabledReason: 'failing since 2026-11-30T10:00:00.000Z without one success for 24 h' });
    await putHealth(failedOut.subscriptionId, { circuit: 'open', consecutiveFailures: 40, lastFailureAt: '2026-12-01T10:00:00.000Z', lastError: 'HTTP 503' });

    const list = await cli(['subscriptions', 'list', '--tenant', TENANT, ...f.local]);

    expect(list.stdout.split('\n').find((l) => l.startsWith(gone.subscriptionId))).toMatch(/\sdisabled\s+gone \(410\)\s/);
    expect(list.stdout.split('\n').find((l) => l.startsWith(failedOut.subscriptionId))).toMatch(/\sdisabled\s+open \(40\)\s/);
  });

  test('resume and a new URL reset the breaker; other updates leave it alone', async () => {
    const store = new DynamoHealthStore(f.db, f.state.HealthTableName!);
    const sub = await create();
    const open = { circuit: 'open', consecutiveFailures: 5, lastFailureAt: '2026-12-01T10:30:00.000Z', lastError: 'HTTP 500', openedAt: '2026-12-01T10:30:00.000Z' };

    await putHealth(sub.subscriptionId, open);
    const events = await cli(['subscriptions', 'update', sub.subscriptionId, '--tenant', TENANT, '--events', 'sales_order.status.changed', ...f.local]);
    expect(events.code).toBe(0);
    expect((await store.get(TENANT, sub.subscriptionId))?.circuit).toBe('open');

    const url = await cli(['subscriptions', 'update', sub.subscriptionId, '--tenant', TENANT, '--url', 'https://hooks.example.com/new', ...f.local]);
    expect(url.code).toBe(0);
    expect(url.stderr).toContain('endpoint health reset (new URL)');
    expect(await store.get(TENANT, sub.subscriptionId)).toBeUndefined();

    await putHealth(sub.subscriptionId, open);
    await cli(['subscriptions', 'pause', sub.subscriptionId, '--tenant', TENANT, ...f.local]);
    const resumed = await cli(['subscriptions', 'resume', sub.subscriptionId, '--tenant', TENANT, ...f.local]);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain('endpoint health reset (resumed)');
    expect(await store.get(TENANT, sub.subscriptionId)).toBeUndefined();
    const got = json<{ state: string; health: { circuit: string } }>(await cli(['subscriptions', 'get', sub.subscriptionId, '--tenant', TENANT, '--json', ...f.local]));
    expect(got).toMatchObject({ state: 'active', health: { circuit: 'closed' } });
  });
});

describe('events operational', () => {
  test('lists the kept events of a window, oldest first; --json has the documented shape', async () => {
    const ops = new OperationalEvents(f.db, f.state.HealthTableName!);
    const now = Date.now();
    const at = (msAgo: number) => new Date(now - msAgo).toISOString();
    const detail = (reason: string) => ({ tenantId: TENANT, subscriptionId: 'sub_ops', url: 'https://hooks.example.com/…', reason, since: at(3 * 3_600_000) });
    await ops.publishOperational({ detailType: 'statushooks.endpoint.failing', time: at(2 * 3_600_000), detail: detail('5 consecutive failed attempts; last: HTTP 500') });
    await ops.publishOperational({ detailType: 'statushooks.endpoint.recovered', time: at(30 * 60_000), detail: detail('delivered again after 9 consecutive failed attempts') });
    await ops.publishOperational({ detailType: 'statushooks.subscription.disabled', time: at(60_000), detail: detail('410 Gone') });

    const recent = await cli(['events', 'operational', '--since', '1h', '--json', ...f.local]);
    expect(recent.code).toBe(0);
    const body = json<{ events: { detailType: string; time: string; detail: Record<string, unknown> }[] }>(recent);
    expect(body.events.map((e) => e.detailType)).toEqual(['statushooks.endpoint.recovered', 'statushooks.subscription.disabled']);
    expect(Object.keys(body.events[0]!).sort()).toEqual(['detail', 'detailType', 'time']);
    expect(body.events[1]).toEqual({ detailType: 'statushooks.subscription.disabled', time: at(60_000), detail: detail('410 Gone') });

    const all = await cli(['events', 'operational', '--since', new Date(now - 3 * 3_600_000).toISOString(), ...f.local]);
    expect(all.code).toBe(0);
    const lines = all.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+EVENT\s+TENANT\s+SUBSCRIPTION/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[1])).toEqual(['endpoint.failing', 'endpoint.recovered', 'subscription.disabled']);
    expect(lines[1]).toContain('5 consecutive failed attempts; last: HTTP 500');

    const none = await cli(['events', 'operational', '--since', '10s', ...f.local]);
    expect(none).toMatchObject({ code: 0, stdout: expect.stringMatching(/^no operational events since /) });
    for (const since of ['yesterday', '2999-01-01T00:00:00Z', '90d']) {
      const bad = await cli(['events', 'operational', '--since', since, ...f.local]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^error: --since: /);
    }
  });
});
