import { ConditionalCheckFailedException, DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoHealthStore, toHealth } from '../../lambdas/adapters/health-store';
import { DEFAULT_BREAKER_POLICY, record } from '../../lambdas/core/breaker';

const ddbMock = mockClient(DynamoDBDocumentClient);
beforeEach(() => ddbMock.reset());

const T = Date.parse('2026-11-28T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const store = () => new DynamoHealthStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), 'EndpointHealth');
const ccf = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
const updates = () => ddbMock.commandCalls(UpdateCommand).map((c) => c.args[0].input);

describe('health store: reads', () => {
  it('gets one item with a consistent read, or undefined', async () => {
    ddbMock.on(GetCommand).resolvesOnce({ Item: { tenantId: 't', subscriptionId: 's', circuit: 'open', consecutiveFailures: 5, openedAt: iso(T) } }).resolvesOnce({});
    expect(await store().get('t', 's')).toEqual({ tenantId: 't', subscriptionId: 's', circuit: 'open', consecutiveFailures: 5, openedAt: iso(T) });
    expect(await store().get('t', 'x')).toBeUndefined();
    expect(ddbMock.commandCalls(GetCommand)[0]!.args[0].input).toEqual({ TableName: 'EndpointHealth', Key: { tenantId: 't', subscriptionId: 's' }, ConsistentRead: true });
  });

  it('lists a tenant over every page', async () => {
    ddbMock
      .on(QueryCommand)
      .resolvesOnce({ Items: [{ tenantId: 't', subscriptionId: 'a', circuit: 'closed', consecutiveFailures: 1 }], LastEvaluatedKey: { tenantId: 't', subscriptionId: 'a' } })
      .resolvesOnce({ Items: [{ tenantId: 't', subscriptionId: 'b', circuit: 'open', consecutiveFailures: 7 }] });
    expect((await store().listByTenant('t')).map((h) => [h.subscriptionId, h.circuit])).toEqual([
      ['a', 'closed'],
      ['b', 'open'],
    ]);
    const calls = ddbMock.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(calls[0]).toMatchObject({ KeyConditionExpression: 'tenantId = :t', ExpressionAttributeValues: { ':t': 't' } });
    expect(calls[1]!.ExclusiveStartKey).toEqual({ tenantId: 't', subscriptionId: 'a' });
  });

  it('reads a damaged item as closed rather than failing deliveries', () => {
    expect(toHealth({ tenantId: 't', subscriptionId: 's', circuit: 'weird', consecutiveFailures: 'x', slowUntil: 'soon' })).toEqual({ tenantId: 't', subscriptionId: 's', circuit: 'closed', consecutiveFailures: 0 });
  });
});

describe('health store: writes only on change', () => {
  it('a success of a healthy endpoint costs no request', async () => {
    const saved = await store().save('t', 's', record(undefined, { ok: true, durationMs: 50 }, T, DEFAULT_BREAKER_POLICY), T);
    expect(saved).toEqual({ health: { circuit: 'closed', consecutiveFailures: 0 } });
    expect(ddbMock.calls()).toHaveLength(0);
  });

  it('a failure ADDs one to the counter (every concurrent failure counts) and keeps the first failure time', async () => {
    ddbMock.on(UpdateCommand).resolves({ Attributes: { tenantId: 't', subscriptionId: 's', circuit: 'closed', consecutiveFailures: 2, firstFailureAt: iso(T - 1000) } });
    const saved = await store().save('t', 's', record(undefined, { ok: false, error: 'HTTP 500' }, T, DEFAULT_BREAKER_POLICY), T);
    expect(saved.transition).toBeUndefined();
    expect(saved.health.consecutiveFailures).toBe(2);
    expect(updates()).toEqual([
      {
        TableName: 'EndpointHealth',
        Key: { tenantId: 't', subscriptionId: 's' },
        UpdateExpression: 'SET lastFailureAt = :at, lastError = :err, firstFailureAt = if_not_exists(firstFailureAt, :at), circuit = if_not_exists(circuit, :closed) ADD consecutiveFailures :one',
        ExpressionAttributeValues: { ':one': 1, ':at': iso(T), ':err': 'HTTP 500', ':closed': 'closed' },
        ReturnValues: 'ALL_NEW',
      },
    ]);
  });

  it('opens the circuit on the counted value, with a compare-and-set so only one caller reports "opened"', async () => {
    ddbMock
      .on(UpdateCommand)
      .resolvesOnce({ Attributes: { tenantId: 't', subscriptionId: 's', circuit: 'closed', consecutiveFailures: 5 } })
      .resolvesOnce({ Attributes: { tenantId: 't', subscriptionId: 's', circuit: 'open', consecutiveFailures: 5, openedAt: iso(T) } });
    // the cached view saw only 2 failures: the stored count decides
    const saved = await store().save('t', 's', record({ circuit: 'closed', consecutiveFailures: 2 }, { ok: false, error: 'HTTP 500' }, T, DEFAULT_BREAKER_POLICY), T);
    expect(saved).toMatchObject({ transition: 'opened', health: { circuit: 'open', openedAt: iso(T) } });
    expect(updates()[1]).toMatchObject({ UpdateExpression: 'SET circuit = :open, openedAt = :at', ConditionExpression: 'circuit = :closed' });
  });

  it('reports no transition when another instance opened it first', async () => {
    ddbMock
      .on(UpdateCommand)
      .resolvesOnce({ Attributes: { tenantId: 't', subscriptionId: 's', circuit: 'closed', consecutiveFailures: 6 } })
      .rejectsOnce(ccf());
    const saved = await store().save('t', 's', record({ circuit: 'closed', consecutiveFailures: 4 }, { ok: false, error: 'e' }, T, DEFAULT_BREAKER_POLICY), T);
    expect(saved.transition).toBeUndefined();
  });

  it('a failure while open restarts the probe interval', async () => {
    ddbMock
      .on(UpdateCommand)
      .resolvesOnce({ Attributes: { tenantId: 't', subscriptionId: 's', circuit: 'half-open', consecutiveFailures: 9, probeLeaseUntil: T + 60_000 } })
      .resolvesOnce({ Attributes: { tenantId: 't', subscriptionId: 's', circuit: 'open', consecutiveFailures: 9, openedAt: iso(T), probeLeaseUntil: T + 60_000 } });
    const saved = await store().save('t', 's', record({ circuit: 'half-open', consecutiveFailures: 8 }, { ok: false, error: 'e' }, T, DEFAULT_BREAKER_POLICY), T);
    expect(saved).toMatchObject({ health: { circuit: 'open', openedAt: iso(T) } });
    expect(saved.transition).toBeUndefined();
    expect(updates()[1]).toMatchObject({ ConditionExpression: 'circuit <> :closed' });
  });

  it('a slow mark rides along with the failure that caused it', async () => {
    ddbMock.on(UpdateCommand).resolves({ Attributes: { tenantId: 't', subscriptionId: 's', circuit: 'closed', consecutiveFailures: 1 } });
    const failed = record(undefined, { ok: false, error: 'timeout', timedOut: true }, T, DEFAULT_BREAKER_POLICY);
    await store().save('t', 's', { ...failed, health: { ...failed.health, slowUntil: T + 600_000 } }, T);
    expect(updates()[0]!.UpdateExpression).toContain('slowUntil = :slow');
    expect(updates()[0]!.ExpressionAttributeValues).toMatchObject({ ':slow': T + 600_000 });
  });

  it('the first success after failures closes the circuit; only the caller that found it open reports "closed"', async () => {
    ddbMock.on(UpdateCommand).resolvesOnce({ Attributes: { circuit: 'open' } }).resolvesOnce({ Attributes: { circuit: 'closed' } });
    const before = { circuit: 'open' as const, consecutiveFailures: 5, openedAt: iso(T - 60_000) };
    const result = record(before, { ok: true, durationMs: 80 }, T, DEFAULT_BREAKER_POLICY);
    expect((await store().save('t', 's', result, T)).transition).toBe('closed');
    expect((await store().save('t', 's', result, T)).transition).toBeUndefined();
    expect(updates()[0]).toEqual({
      TableName: 'EndpointHealth',
      Key: { tenantId: 't', subscriptionId: 's' },
      UpdateExpression: 'SET circuit = :closed, consecutiveFailures = :zero, lastSuccessAt = :at, latencyMs = :lat REMOVE firstFailureAt, failingSince, openedAt, probeLeaseUntil',
      ExpressionAttributeValues: { ':closed': 'closed', ':zero': 0, ':at': iso(T), ':lat': 80 },
      ReturnValues: 'ALL_OLD',
    });
  });
});

describe('health store: probe lease, reset, rate tokens', () => {
  it('takes the probe lease with a conditional update; a lost race is false, other errors throw', async () => {
    ddbMock.on(UpdateCommand).resolvesOnce({}).rejectsOnce(ccf()).rejectsOnce(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
    expect(await store().acquireProbe('t', 's', T, 60_000)).toBe(true);
    expect(await store().acquireProbe('t', 's', T, 60_000)).toBe(false);
    await expect(store().acquireProbe('t', 's', T, 60_000)).rejects.toThrow('slow down');
    expect(updates()[0]).toEqual({
      TableName: 'EndpointHealth',
      Key: { tenantId: 't', subscriptionId: 's' },
      UpdateExpression: 'SET probeLeaseUntil = :until, circuit = :half',
      ConditionExpression: 'attribute_exists(circuit) AND circuit <> :closed AND (attribute_not_exists(probeLeaseUntil) OR probeLeaseUntil <= :now)',
      ExpressionAttributeValues: { ':until': T + 60_000, ':half': 'half-open', ':closed': 'closed', ':now': T },
    });
  });

  it('reset deletes the item', async () => {
    ddbMock.on(DeleteCommand).resolves({});
    await store().reset('t', 's');
    expect(ddbMock.commandCalls(DeleteCommand)[0]!.args[0].input).toEqual({ TableName: 'EndpointHealth', Key: { tenantId: 't', subscriptionId: 's' } });
  });

  it('takes a rate token with a conditional ADD on the counter of the current second, with a TTL', async () => {
    ddbMock.on(UpdateCommand).resolvesOnce({}).rejectsOnce(ccf()).rejectsOnce(new Error('network down'));
    expect(await store().takeToken('t', 's', 5, T + 250)).toBe(true);
    expect(await store().takeToken('t', 's', 5, T + 250)).toBe(false);
    await expect(store().takeToken('t', 's', 5, T + 250)).rejects.toThrow('network down');
    expect(updates()[0]).toEqual({
      TableName: 'EndpointHealth',
      Key: { tenantId: 'rate#t#s', subscriptionId: String(T / 1000) },
      UpdateExpression: 'ADD n :one SET expiresAt = :exp',
      ConditionExpression: 'attribute_not_exists(n) OR n < :max',
      ExpressionAttributeValues: { ':one': 1, ':max': 5, ':exp': T / 1000 + 120 },
    });
  });
});
