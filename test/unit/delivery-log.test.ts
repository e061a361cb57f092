import { mockClient } from 'aws-sdk-client-mock';
import { BatchWriteCommand, DynamoDBDocumentClient, QueryCommand, BatchGetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEFAULT_BREAKER_POLICY } from '../../lambdas/core/breaker';
import { deliver, type DeliveryConfig, type DeliveryPorts } from '../../lambdas/core/delivery';
import { attemptRecord, factsFromJob, requeueBefore, requeueWords, responseSnippet, waitingRequeue, type AttemptRecord, type DeliveryFacts, type DeliveryLogUpdate } from '../../lambdas/core/delivery-log';
import { buildJob, type DeliveryJob } from '../../lambdas/core/job';
import type { AttemptResult } from '../../lambdas/core/outcome';
import { silentLog, type MetricName } from '../../lambdas/core/ports';
import { deadlineSpanMs } from '../../lambdas/core/retry';
import { fanOut, type FanOutPorts } from '../../lambdas/core/route-event';
import { newSecret, type Subscription } from '../../lambdas/core/subscriptions';
import { DynamoDeliveryLog, InvalidCursorError } from '../../lambdas/adapters/delivery-log-store';

describe('responseSnippet', () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  it('keeps a text body as it is, and says when there was none', () => {
    expect(responseSnippet(bytes('{"ok":true}'), 11)).toBe('{"ok":true}');
    expect(responseSnippet(bytes('zurück\r\n\tok'), bytes('zurück\r\n\tok').length)).toBe('zurück\r\n\tok');
    expect(responseSnippet(new Uint8Array(), 0)).toBeNull();
  });
  it('keeps the first 1 KB of a long body and says how long it was', () => {
    expect(responseSnippet(bytes('a'.repeat(1024)), 4096)).toBe(`${'a'.repeat(1024)}… [4096 bytes in all]`);
  });
  it('drops a character cut in half by the 1 KB boundary instead of calling the body binary', () => {
    const text = `${'a'.repeat(1023)}€`; // € is 3 bytes: only its first byte fits in 1 KB
    expect(responseSnippet(bytes(text).subarray(0, 1024), bytes(text).length)).toBe(`${'a'.repeat(1023)}… [1026 bytes in all]`);
  });
  it('shows binary bodies as such: invalid UTF-8 or control characters', () => {
    expect(responseSnippet(new Uint8Array([0xff, 0xfe, 0x00]), 3)).toBe('[binary: 3 bytes]');
    expect(responseSnippet(bytes('GIF89a\u0001\u0000'), 8)).toBe('[binary: 8 bytes]');
  });
});

describe('attemptRecord', () => {
  const at = new Date('2026-12-04T10:00:00Z');
  it('records a response with its status and snippet, and an error without a status', () => {
    expect(attemptRecord(2, at, { kind: 'response', status: 502, durationMs: 31, response: 'bad gateway' }, 'retry')).toEqual({
      attempt: 2, at: '2026-12-04T10:00:00.000Z', statusCode: 502, durationMs: 31, error: null, response: 'bad gateway', lane: 'retry',
    });
    expect(attemptRecord(1, at, { kind: 'error', error: 'connection', message: 'ECONNREFUSED connect ECONNREFUSED 10.0.0.1:443', durationMs: 3 }, 'fast')).toEqual({
      attempt: 1, at: '2026-12-04T10:00:00.000Z', statusCode: null, durationMs: 3, error: 'connection: ECONNREFUSED connect ECONNREFUSED 10.0.0.1:443', response: null, lane: 'fast',
    });
  });
});

const body = '{"event":"return_order.status.changed","oldStatus":"approved","newStatus":"option_selected","returnOrder":{"number":"100004","uuid":"u-1","externalId":null}}';
const change = { eventId: 'evt-1', event: 'return_order.status.changed' as const, entityKey: 'returnOrder' as const, tenantId: 'acme', oldStatus: 'approved', newStatus: 'option_selected', entity: { uuid: 'u-1', number: '100004', externalId: null }, time: '2026-11-28T09:59:59Z' };
const job = buildJob(change, 'sub_1', body, new Date('2026-11-28T10:00:00Z'));

it('factsFromJob reads the entity from the body fan-out built', () => {
  expect(factsFromJob(job)).toEqual({ tenantId: 'acme', deliveryId: job.deliveryId, subscriptionId: 'sub_1', event: 'return_order.status.changed', eventId: 'evt-1', entityUuid: 'u-1', entityNumber: '100004', body, occurredAt: '2026-11-28T09:59:59Z' });
  expect(factsFromJob({ ...job, body: 'not json' })).toMatchObject({ entityUuid: '', entityNumber: null, body: 'not json' });
});

describe('the delivery writes the log after the job is settled, and never fails for it', () => {
  const retry = { maxAttempts: 3, schedule: [60, 600], jitter: 0, maxRetryAfterSeconds: 3600 };
  const breaker = { ...DEFAULT_BREAKER_POLICY, threshold: 5 };
  const config: DeliveryConfig = { lane: 'retry', retry, breaker, endpoints: { allowPrivate: false, allowHttp: false }, userAgent: 'statushooks/test', deadlineSpanMs: deadlineSpanMs(retry, 10_000, breaker.probeIntervalMs) };
  const active: Subscription = { tenantId: 'acme', subscriptionId: 'sub_1', url: 'https://hooks.example.com/t/abcdefabcdefabcdefabcdefabcdef12', events: ['*'], secret: newSecret(), state: 'active' };

  function setup(result: AttemptResult, writeLog: (u: DeliveryLogUpdate) => Promise<void>, subscription: Subscription | undefined = active) {
    const order: string[] = [];
    const counts: Partial<Record<MetricName, number>> = {};
    const ports: DeliveryPorts = {
      getSubscription: async () => subscription,
      disableSubscription: async () => 'disabled' as const,
      endpointHealth: async () => undefined,
      saveHealth: async (_t, _s, r) => ({ health: r.health }),
      acquireProbe: async () => true,
      markSlow: async () => undefined,
      takeToken: async () => true,
      markDisabled: async () => undefined,
      resetHealth: async () => undefined,
      publishOperational: async () => undefined,
      send: async () => {
        order.push('send');
        return result;
      },
      retryLater: async () => void order.push('retryLater'),
      toRetryLane: async () => void order.push('toRetryLane'),
      park: async () => void order.push('park'),
      now: () => new Date('2026-11-28T10:01:00Z'),
      rng: () => 0.5,
      log: silentLog,
      metrics: { count: (n, v = 1) => void (counts[n] = (counts[n] ?? 0) + v), milliseconds: () => undefined, countForTenant: () => undefined },
      deliveryLog: {
        logQueued: async () => new Map(),
        logUpdate: async (u) => {
          order.push(`log:${u.state}`);
          await writeLog(u);
        },
      },
    };
    return { ports, order, counts };
  }

  it.each<[string, AttemptResult, number, string[]]>([
    ['delivered', { kind: 'response', status: 200, durationMs: 5, response: 'ok' }, 1, ['send', 'log:delivered']],
    ['retrying', { kind: 'response', status: 500, durationMs: 5, response: 'boom' }, 1, ['send', 'toRetryLane', 'log:retrying']],
    ['parked', { kind: 'response', status: 500, durationMs: 5, response: 'boom' }, 3, ['send', 'park', 'log:parked']],
  ])('records %s with the attempt, after the job was settled', async (_state, result, attempt, expected) => {
    const updates: DeliveryLogUpdate[] = [];
    const t = setup(result, async (u) => void updates.push(u));
    await deliver(JSON.stringify({ ...job, attempts: attempt - 1 }), attempt, t.ports, config);
    expect(t.order).toEqual(expected);
    expect(updates[0]!.attempt).toMatchObject({ attempt, statusCode: (result as { status: number }).status, response: (result as { response: string }).response, lane: 'retry' });
    // The URL as the logs show it: the token-like path segment is masked.
    expect(updates[0]!.url).not.toContain('abcdefabcdefabcdefabcdefabcdef12');
    expect(updates[0]!.facts).toEqual(factsFromJob(job));
  });

  it('records a drop without an attempt, with the reason', async () => {
    const updates: DeliveryLogUpdate[] = [];
    const t = setup({ kind: 'response', status: 200, durationMs: 1 }, async (u) => void updates.push(u), { ...active, state: 'paused' });
    await deliver(JSON.stringify(job), 1, t.ports, config);
    expect(updates).toEqual([expect.objectContaining({ state: 'dropped', reason: 'subscription is paused', attempt: undefined })]);
  });

  it('delivers and settles the same way when the log throws, and counts the failure', async () => {
    const t = setup({ kind: 'response', status: 200, durationMs: 5 }, async () => {
      throw new Error('ProvisionedThroughputExceededException');
    });
    await expect(deliver(JSON.stringify(job), 1, t.ports, config)).resolves.toEqual({ result: 'delivered', status: 200 });
    expect(t.counts).toMatchObject({ DeliveriesSucceeded: 1, DeliveryLogWriteFailures: 1 });
  });

  describe('with deliveryLog = failures', () => {
    const failuresOnly: DeliveryConfig = { ...config, deliveryLog: 'failures' };
    const ok: AttemptResult = { kind: 'response', status: 204, durationMs: 3 };
    const boom: AttemptResult = { kind: 'response', status: 500, durationMs: 3, response: 'boom' };

    it('a first attempt that succeeds is counted, not written', async () => {
      const updates: DeliveryLogUpdate[] = [];
      const t = setup(ok, async (u) => void updates.push(u));
      await expect(deliver(JSON.stringify(job), 1, t.ports, failuresOnly)).resolves.toEqual({ result: 'delivered', status: 204 });
      expect(updates).toEqual([]);
      expect(t.counts).toMatchObject({ DeliveriesSucceeded: 1 });
      expect(t.counts.DeliveryLogWriteFailures).toBeUndefined();
    });

    it.each<[string, AttemptResult, object, string]>([
      ['a failed first attempt', boom, { attempts: 0 }, 'retrying'],
      ['the last failed attempt', boom, { attempts: 2 }, 'parked'],
      ['a success after failed attempts (their record exists)', ok, { attempts: 1 }, 'delivered'],
      ['a first-attempt success of a job an operator resent, redrove or replayed', ok, { attempts: 0, recorded: true }, 'delivered'],
    ])('%s is written', async (_what, result, fields, state) => {
      const updates: DeliveryLogUpdate[] = [];
      const t = setup(result, async (u) => void updates.push(u));
      const attempts = (fields as { attempts: number }).attempts;
      await deliver(JSON.stringify({ ...job, ...fields }), attempts + 1, t.ports, failuresOnly);
      expect(updates.map((u) => [u.state, u.attempt?.attempt, u.attempt?.statusCode])).toEqual([[state, attempts + 1, (result as { status: number }).status]]);
      // The facts come with every write: the first one creates the whole record.
      expect(updates[0]!.facts).toEqual(factsFromJob(job));
    });

    it('a drop is written', async () => {
      const updates: DeliveryLogUpdate[] = [];
      const t = setup(ok, async (u) => void updates.push(u), { ...active, state: 'paused' });
      await deliver(JSON.stringify(job), 1, t.ports, failuresOnly);
      expect(updates.map((u) => u.state)).toEqual(['dropped']);
    });
  });
});

describe('fan-out writes the pending records before it queues the jobs', () => {
  const sub = (id: string): Subscription => ({ tenantId: 'acme', subscriptionId: id, url: `https://example.com/${id}`, events: ['*'], secret: newSecret(), state: 'active' });
  const event = { version: '0', id: 'evt-9', 'detail-type': 'return_order.status.changed', source: 'returns.cloud', time: '2026-11-28T09:59:00Z', detail: { tenantId: 'acme', oldStatus: 'a', newStatus: 'b', returnOrder: { uuid: 'u-9', number: '9', externalId: null } } };
  function ports(logQueued: FanOutPorts['deliveryLog']) {
    const order: string[] = [];
    const counts: Partial<Record<MetricName, number>> = {};
    const p: FanOutPorts = {
      subscriptionsOf: async () => ({ subscriptions: [sub('s1'), sub('s2')], invalid: [] }),
      enqueue: async (jobs) => void order.push(`enqueue ${jobs.length}`),
      park: async () => undefined,
      deliveryLog: logQueued,
      now: () => new Date('2026-11-28T10:00:00Z'),
      log: silentLog,
      metrics: { count: (n, v = 1) => void (counts[n] = (counts[n] ?? 0) + v), milliseconds: () => undefined, countForTenant: () => undefined },
    };
    return { p, order, counts };
  }

  it('one batched write with every delivery of the event, then the jobs', async () => {
    const written: DeliveryFacts[][] = [];
    const t = ports({ logQueued: async () => new Map(), logUpdate: async () => undefined });
    const order = t.order;
    t.p.deliveryLog!.logQueued = async (facts, at) => {
      order.push(`log ${facts.length} at ${at}`);
      written.push([...facts]);
      return new Map();
    };
    const result = await fanOut(event, t.p);
    expect(order).toEqual(['log 2 at 2026-11-28T10:00:00.000Z', 'enqueue 2']);
    expect(written[0]!.map((f) => [f.deliveryId, f.subscriptionId, f.entityUuid, f.entityNumber])).toEqual(
      (result as { deliveryIds: readonly string[] }).deliveryIds.map((id, i) => [id, `s${i + 1}`, 'u-9', '9']),
    );
  });

  it('queues the jobs all the same when the log cannot be written, and counts it', async () => {
    const t = ports({ logQueued: async () => Promise.reject(new Error('table unavailable')), logUpdate: async () => undefined });
    await fanOut(event, t.p);
    expect(t.order).toEqual(['enqueue 2']);
    expect(t.counts).toMatchObject({ DeliveriesQueued: 2, DeliveryLogWriteFailures: 1 });
  });

  describe('with deliveryLog = failures', () => {
    function recording(extra: Partial<FanOutPorts>) {
      const writes: Array<{ ids: string[]; leavesDelivered: boolean }> = [];
      const jobs: DeliveryJob[] = [];
      const t = ports({
        logQueued: async (facts, _at, options) => {
          writes.push({ ids: facts.map((f) => f.deliveryId), leavesDelivered: options?.leave?.('delivered') === true });
          return new Map();
        },
        logUpdate: async () => undefined,
      });
      Object.assign(t.p, { deliveryLogMode: 'failures', enqueue: async (queued: readonly DeliveryJob[]) => void jobs.push(...queued) }, extra);
      return { t, writes, jobs };
    }

    it('queues a fresh event without writing the log, and its jobs without the recorded mark', async () => {
      const { t, writes, jobs } = recording({});
      await fanOut(event, t.p);
      expect(writes).toEqual([]);
      expect(jobs).toHaveLength(2);
      for (const j of jobs) expect(j.recorded).toBeUndefined();
      expect(t.counts).toMatchObject({ DeliveriesQueued: 2 });
    });

    it.each<[string, object, Partial<FanOutPorts>]>([
      ['a replayed event', { 'replay-name': 'statushooks-2026-11-28' }, {}],
      ["an operator's fan-out DLQ redrive", {}, { operatorRedrive: true }],
    ])('%s is written (delivered ones queued again too) and its jobs are marked recorded, so every outcome is written', async (_what, envelope, extra) => {
      const { t, writes, jobs } = recording(extra);
      await fanOut({ ...event, ...envelope }, t.p);
      expect(writes).toEqual([{ ids: jobs.map((j) => j.deliveryId), leavesDelivered: false }]);
      expect(jobs.map((j) => j.recorded)).toEqual([true, true]);
    });

    it('with deliveryLog = all, every job is written and marked, so a function switched to failures still completes its record', async () => {
      const { t, writes, jobs } = recording({ deliveryLogMode: 'all' });
      await fanOut(event, t.p);
      expect(writes).toEqual([{ ids: jobs.map((j) => j.deliveryId), leavesDelivered: true }]);
      expect(jobs.map((j) => j.recorded)).toEqual([true, true]);
    });
  });
});

describe('DynamoDeliveryLog (adapter)', () => {
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }));
  const mock = mockClient(db);
  const store = new DynamoDeliveryLog(db, 'Log', 30);
  beforeEach(() => mock.reset());
  const facts = (i: number): DeliveryFacts => ({ ...factsFromJob(job), deliveryId: `msg_${i}` });

  it('writes pending records 25 to a call and retries what DynamoDB left unprocessed', async () => {
    mock.on(BatchGetCommand).resolves({ Responses: { Log: [] } });
    const calls: number[] = [];
    mock.on(BatchWriteCommand).callsFake((input: { RequestItems: Record<string, unknown[]> }) => {
      const n = input.RequestItems.Log!.length;
      calls.push(n);
      // The first call leaves 2 items unprocessed (throttled).
      return calls.length === 1 ? { UnprocessedItems: { Log: input.RequestItems.Log!.slice(0, 2) } } : {};
    });
    await store.logQueued(Array.from({ length: 30 }, (_, i) => facts(i)), '2026-12-04T10:00:00.000Z');
    expect(calls).toEqual([25, 2, 5]);
    const item = (mock.commandCalls(BatchWriteCommand)[0]!.args[0].input.RequestItems!.Log![0] as { PutRequest: { Item: Record<string, unknown> } }).PutRequest.Item;
    expect(item).toMatchObject({ state: 'pending', listKey: '2026-12-04T10:00:00.000Z#msg_0', entityKey: 'acme#u-1', attempts: [], expiresAt: Date.parse('2026-12-04T10:00:00Z') / 1000 + 30 * 86_400 });
    expect(item.stateKey).toBeUndefined();
  });

  it('gives up after three rounds of unprocessed items, so the caller counts the failure', async () => {
    mock.on(BatchGetCommand).resolves({ Responses: { Log: [] } });
    mock.on(BatchWriteCommand).callsFake((input: { RequestItems: Record<string, unknown[]> }) => ({ UnprocessedItems: input.RequestItems }));
    await expect(store.logQueued([facts(1)], '2026-12-04T10:00:00.000Z')).rejects.toThrow('1 delivery log records were not written after 3 tries (throttled)');
  });

  it('never replaces a record it could not look up: keys DynamoDB leaves unread three times are updated, not put', async () => {
    const reads: number[] = [];
    mock.on(BatchGetCommand).callsFake((input: { RequestItems: Record<string, { Keys: unknown[] }> }) => {
      const keys = input.RequestItems.Log!.Keys;
      reads.push(keys.length);
      // msg_0 is found (delivered); msg_1 is never read (throttled); msg_2 does not exist.
      return { Responses: { Log: reads.length === 1 ? [{ deliveryId: 'msg_0', state: 'delivered' }] : [] }, UnprocessedKeys: { Log: { Keys: keys.filter((k) => (k as { deliveryId: string }).deliveryId === 'msg_1') } } };
    });
    mock.on(BatchWriteCommand).resolves({});
    mock.on(UpdateCommand).resolves({});
    const left = await store.logQueued([facts(0), facts(1), facts(2)], '2026-12-04T10:00:00.000Z', { leave: (state) => state !== 'pending' });
    expect(reads).toEqual([3, 1, 1]);
    expect([...left]).toEqual([['msg_0', 'delivered']]);
    const put = mock.commandCalls(BatchWriteCommand).flatMap((c) => c.args[0].input.RequestItems!.Log!.map((r) => (r.PutRequest!.Item as { deliveryId: string }).deliveryId));
    expect(put).toEqual(['msg_2']);
    expect(mock.commandCalls(UpdateCommand).map((c) => c.args[0].input.Key)).toEqual([{ tenantId: 'acme', deliveryId: 'msg_1' }]);
  });

  it('indexes a problem state and un-indexes the happy ones', async () => {
    mock.on(UpdateCommand).resolves({});
    await store.logUpdate({ facts: facts(1), state: 'parked', at: '2026-12-04T10:00:00.000Z', reason: 'failed 5 attempts' });
    await store.logUpdate({ facts: facts(1), state: 'delivered', at: '2026-12-04T10:00:01.000Z' });
    const [parked, delivered] = mock.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(parked!.UpdateExpression).toContain('stateKey = :stateKey');
    expect(parked!.ExpressionAttributeValues![':stateKey']).toBe('acme#parked');
    expect(delivered!.UpdateExpression).toMatch(/REMOVE reason, stateKey$/);
  });

  const byId = (input: { RequestItems: { Log: { Keys: Array<{ deliveryId: string }> } } }) => ({
    Responses: { Log: input.RequestItems.Log.Keys.map((k) => ({ tenantId: 'acme', deliveryId: k.deliveryId, state: 'delivered', attempts: [] })) },
  });
  const indexKeys = (...ids: number[]) => ids.map((i) => ({ tenantId: 'acme', deliveryId: `msg_${i}`, listKey: `2026-12-04T10:00:0${i}.000Z#msg_${i}`, subscriptionId: 's', entityUuid: 'u-1' }));

  it('pages newest first; a page ends after the limit and its cursor continues after its last record', async () => {
    const keys = indexKeys(5, 4, 3);
    // One item beyond the page is read: it proves that more follow.
    mock.on(QueryCommand).resolves({ Items: keys, ScannedCount: 3, LastEvaluatedKey: keys[2] });
    mock.on(BatchGetCommand).callsFake(byId);
    const page = await store.list({ tenantId: 'acme', limit: 2 });
    expect(page.records.map((r) => r.deliveryId)).toEqual(['msg_5', 'msg_4']);
    expect(page.itemsRead).toBe(6);
    const query = mock.commandCalls(QueryCommand)[0]!.args[0].input;
    expect(query).toMatchObject({ IndexName: 'byTenant', ScanIndexForward: false, Limit: 3 });
    await store.list({ tenantId: 'acme', limit: 2, cursor: page.next! });
    expect(mock.commandCalls(QueryCommand)[1]!.args[0].input.ExclusiveStartKey).toEqual({ tenantId: 'acme', deliveryId: 'msg_4', listKey: keys[1]!.listKey });
    expect(page.next!.length).toBeLessThan(80);
    await expect(store.list({ tenantId: 'acme', limit: 2, cursor: 'garbage' })).rejects.toThrow(InvalidCursorError);
  });

  it('a page that holds the last matching records has no cursor, though DynamoDB stopped at its Limit', async () => {
    const keys = indexKeys(5, 4);
    // DynamoDB returns a LastEvaluatedKey whenever it stops at the Limit, even at the partition's end.
    mock.on(QueryCommand).resolvesOnce({ Items: keys, ScannedCount: 2, LastEvaluatedKey: keys[1] }).resolves({ Items: [], ScannedCount: 0 });
    mock.on(BatchGetCommand).callsFake(byId);
    const page = await store.list({ tenantId: 'acme', limit: 2 });
    expect(page.records.map((r) => r.deliveryId)).toEqual(['msg_5', 'msg_4']);
    expect(page.next).toBeNull();
  });

  it('never returns an item of another tenant an index lists', async () => {
    const keys = [...indexKeys(5), { ...indexKeys(4)[0]!, tenantId: 'acme#eu' }];
    mock.on(QueryCommand).resolves({ Items: keys, ScannedCount: 2 });
    mock.on(BatchGetCommand).callsFake(byId);
    const page = await store.list({ tenantId: 'acme', entityUuid: 'u-1', limit: 5 });
    expect(page.records.map((r) => r.deliveryId)).toEqual(['msg_5']);
    expect(mock.commandCalls(BatchGetCommand)[0]!.args[0].input.RequestItems!.Log!.Keys).toEqual([{ tenantId: 'acme', deliveryId: 'msg_5' }]);
  });

  it('reads a problem state from its own index, an entity from its index, a subscription by filter', async () => {
    mock.on(QueryCommand).resolves({ Items: [], ScannedCount: 0 });
    await store.list({ tenantId: 'acme', state: 'parked', subscriptionId: 's1', limit: 5 });
    await store.list({ tenantId: 'acme', entityUuid: 'u-1', since: new Date('2026-12-04T00:00:00Z'), limit: 5 });
    const [byState, byEntity] = mock.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(byState).toMatchObject({ IndexName: 'byState', ExpressionAttributeValues: { ':pk': 'acme#parked', ':sub': 's1' }, FilterExpression: '#sub = :sub' });
    expect(byEntity).toMatchObject({ IndexName: 'byEntity', KeyConditionExpression: '#pk = :pk AND #lk >= :since', ExpressionAttributeValues: { ':pk': 'acme#u-1', ':since': '2026-12-04T00:00:00.000Z' } });
    // Another tenant may share the entity's key (tenant ids and uuids may contain '#').
    expect(byEntity).toMatchObject({ FilterExpression: '#tenant = :tenant', ExpressionAttributeNames: { '#tenant': 'tenantId' }, ExpressionAttributeValues: { ':tenant': 'acme' } });
  });
});

describe('what queued a delivery again', () => {
  const attempt = (n: number, at: string): AttemptRecord => ({ attempt: n, at, statusCode: 500, durationMs: 3, error: null, response: null });
  const attempts = [attempt(1, '2026-12-01T10:00:00.000Z'), attempt(2, '2026-12-01T10:01:00.000Z'), attempt(1, '2026-12-01T11:00:00.000Z'), attempt(1, '2026-12-01T12:00:00.000Z')];

  it('names the requeue between the attempt before and the one that counts from 1 again; the latest when there are several', () => {
    const requeues = [
      { at: '2026-12-01T10:30:00.000Z', by: 'resend' },
      { at: '2026-12-01T10:59:00.000Z', by: 'redrive' },
      // The operator's clock 2 s ahead of the function's: still before this attempt.
      { at: '2026-12-01T12:00:02.000Z', by: 'replay statushooks-20261201T115900-abcdef' },
    ];
    expect(requeueBefore({ attempts, requeues }, 2)).toEqual(requeues[1]);
    expect(requeueBefore({ attempts, requeues }, 3)).toEqual(requeues[2]);
    expect(requeueWords(requeues[1]!)).toBe('a redrive of the delivery DLQ on 2026-12-01T10:59:00.000Z');
    expect(requeueWords(requeues[2]!)).toBe('replay statushooks-20261201T115900-abcdef on 2026-12-01T12:00:02.000Z');
  });

  it('says nothing it does not know: no requeue recorded in the gap, or none at all', () => {
    expect(requeueBefore({ attempts, requeues: [{ at: '2026-12-01T09:00:00.000Z', by: 'resend' }] }, 2)).toBeUndefined();
    expect(requeueBefore({ attempts }, 2)).toBeUndefined();
    expect(requeueBefore({ attempts }, 0)).toBeUndefined();
  });

  it('a pending record waits on the requeue written after its last attempt; a resend that was undone is not one', () => {
    const requeues = [{ at: '2026-12-01T12:30:00.000Z', by: 'resend' }];
    expect(waitingRequeue({ state: 'pending', attempts, requeues })).toEqual(requeues[0]);
    expect(waitingRequeue({ state: 'pending', attempts: [], requeues })).toEqual(requeues[0]);
    // The resend could not queue the job and the record got its state back.
    expect(waitingRequeue({ state: 'parked', attempts, requeues })).toBeUndefined();
    expect(waitingRequeue({ state: 'pending', attempts, requeues: [{ at: '2026-12-01T11:30:00.000Z', by: 'resend' }] })).toBeUndefined();
  });
});
