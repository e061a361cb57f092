/**
 * The health store against a real DynamoDB emulator (dynalite, in-process on a loopback port):
 * the guarantees that only DynamoDB's conditional writes can give, exercised with concurrent callers.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type Dynalite, createTenantTable, startDynalite } from '../dynalite';
import { DynamoHealthStore } from '../../lambdas/adapters/health-store';
import { DEFAULT_BREAKER_POLICY, record, type EndpointHealth } from '../../lambdas/core/breaker';

const TABLE = 'EndpointHealth';
const T = Date.parse('2026-11-28T10:00:00.000Z');
let dynamo: Dynalite;
let client: DynamoDBClient;
let store: DynamoHealthStore;

beforeAll(async () => {
  dynamo = await startDynalite();
  client = dynamo.client;
  await createTenantTable(client, TABLE);
  store = new DynamoHealthStore(DynamoDBDocumentClient.from(client), TABLE);
});

afterAll(() => dynamo?.close());

const policy = DEFAULT_BREAKER_POLICY;
const failure = (cached: EndpointHealth | undefined, at: number) => record(cached, { ok: false, error: 'HTTP 503' }, at, policy);

test('20 concurrent token requests with a limit of 5 in the same second: exactly 5 succeed', async () => {
  const taken = await Promise.all(Array.from({ length: 20 }, (_, i) => store.takeToken('shop', 'sub_rate', 5, T + i * 10)));
  expect(taken.filter(Boolean)).toHaveLength(5);
});

test('the next second has fresh tokens, and each endpoint has its own counter', async () => {
  const next = await Promise.all(Array.from({ length: 8 }, () => store.takeToken('shop', 'sub_rate', 5, T + 1000)));
  expect(next.filter(Boolean)).toHaveLength(5);
  expect(await store.takeToken('shop', 'sub_other', 5, T + 1000)).toBe(true);
  expect(await store.takeToken('other-shop', 'sub_rate', 5, T + 1000)).toBe(true);
});

test('documented limit of fixed windows: up to 2 × max within a few ms across a second boundary', async () => {
  const end = await Promise.all(Array.from({ length: 5 }, () => store.takeToken('shop', 'sub_edge', 5, T + 999)));
  const start = await Promise.all(Array.from({ length: 5 }, () => store.takeToken('shop', 'sub_edge', 5, T + 1000)));
  expect([...end, ...start].filter(Boolean)).toHaveLength(10);
});

test('rate counters never show up among a tenant\'s health items', async () => {
  expect(await store.listByTenant('shop')).toEqual([]);
});

test('10 concurrent failures from instances with the same stale cache are all counted, and exactly one reports "opened"', async () => {
  const cached: EndpointHealth = { circuit: 'closed', consecutiveFailures: 0 };
  const saved = await Promise.all(Array.from({ length: 10 }, (_, i) => store.save('shop', 'sub_fail', failure(cached, T + i), T + i)));
  const stored = await store.get('shop', 'sub_fail');
  expect(stored).toMatchObject({ circuit: 'open', consecutiveFailures: 10, lastError: 'HTTP 503', firstFailureAt: expect.any(String), openedAt: expect.any(String) });
  expect(saved.filter((s) => s.transition === 'opened')).toHaveLength(1);
});

test('10 concurrent probe requests on an open circuit: exactly one wins the lease, and only after it ends may another probe', async () => {
  const now = T + 120_000;
  const won = await Promise.all(Array.from({ length: 10 }, () => store.acquireProbe('shop', 'sub_fail', now, 60_000)));
  expect(won.filter(Boolean)).toHaveLength(1);
  expect(await store.get('shop', 'sub_fail')).toMatchObject({ circuit: 'half-open', probeLeaseUntil: now + 60_000 });
  expect(await store.acquireProbe('shop', 'sub_fail', now + 59_999, 60_000)).toBe(false);
  expect(await store.acquireProbe('shop', 'sub_fail', now + 60_000, 60_000)).toBe(true);
});

test('no probe lease for a closed circuit or an endpoint without health', async () => {
  await store.save('shop', 'sub_ok', failure(undefined, T), T);
  expect(await store.acquireProbe('shop', 'sub_ok', T, 60_000)).toBe(false);
  expect(await store.acquireProbe('shop', 'sub_none', T, 60_000)).toBe(false);
  expect(await store.get('shop', 'sub_none')).toBeUndefined();
});

test('concurrent successes after an outage close the circuit once: exactly one reports "closed"', async () => {
  const cached = await store.get('shop', 'sub_fail');
  const saved = await Promise.all(Array.from({ length: 5 }, (_, i) => store.save('shop', 'sub_fail', record(cached, { ok: true, durationMs: 40 }, T + 300_000 + i, policy), T + 300_000 + i)));
  expect(saved.filter((s) => s.transition === 'closed')).toHaveLength(1);
  const stored = await store.get('shop', 'sub_fail');
  expect(stored).toMatchObject({ circuit: 'closed', consecutiveFailures: 0, lastError: 'HTTP 503', latencyMs: 40 });
  expect(stored).not.toHaveProperty('firstFailureAt');
  expect(stored).not.toHaveProperty('probeLeaseUntil');
});

test('reset forgets an endpoint: it starts healthy after a resume or a URL change', async () => {
  await store.reset('shop', 'sub_ok');
  expect(await store.get('shop', 'sub_ok')).toBeUndefined();
  expect((await store.listByTenant('shop')).map((h) => h.subscriptionId)).toEqual(['sub_fail']);
});

test('a disabling marks the health item; a job after a resume resets it only while the mark is the same', async () => {
  await store.save('shop', 'sub_marked', failure(undefined, T), T);
  await store.markDisabled('shop', 'sub_marked', '2026-11-28T10:05:00.000Z');
  await store.markDisabled('shop', 'sub_none', '2026-11-28T10:05:00.000Z');
  expect(await store.get('shop', 'sub_none')).toBeUndefined();
  expect(await store.get('shop', 'sub_marked')).toMatchObject({ consecutiveFailures: 1, disabledAt: '2026-11-28T10:05:00.000Z' });
  await store.resetIfDisabledAt('shop', 'sub_marked', '2026-11-28T09:00:00.000Z');
  expect(await store.get('shop', 'sub_marked')).toMatchObject({ consecutiveFailures: 1 });
  await store.resetIfDisabledAt('shop', 'sub_marked', '2026-11-28T10:05:00.000Z');
  expect(await store.get('shop', 'sub_marked')).toEqual({ tenantId: 'shop', subscriptionId: 'sub_marked', circuit: 'closed', consecutiveFailures: 0 });
});
