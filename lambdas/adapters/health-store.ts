import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_BREAKER_POLICY, failingSinceAt, type BreakerPolicy, type Circuit, type EndpointHealth, type RecordResult, type Transition } from '../core/breaker';
import { rateWindow } from '../core/rate-limit';

/** A health item with its keys (table EndpointHealth: pk tenantId, sk subscriptionId). */
export interface HealthItem extends EndpointHealth {
  readonly tenantId: string;
  readonly subscriptionId: string;
}

/** What DynamoDB confirmed: the stored health and the transition this caller (alone) made. */
export interface SavedHealth {
  readonly health: EndpointHealth;
  readonly transition?: Transition;
}

/** Rate counters share the table under their own partition, so a tenant's Query never sees them. */
export const RATE_COUNTER_TTL_SECONDS = 120;
export function rateKey(tenantId: string, subscriptionId: string): string {
  return `rate#${tenantId}#${subscriptionId}`;
}

const CIRCUITS: readonly Circuit[] = ['closed', 'open', 'half-open'];

/** Every attribute of a health item besides its keys (none is a DynamoDB reserved word). */
const HEALTH_ATTRIBUTES = [
  'circuit',
  'consecutiveFailures',
  'firstFailureAt',
  'failingSince',
  'lastSuccessAt',
  'lastFailureAt',
  'lastError',
  'openedAt',
  'probeLeaseUntil',
  'slowUntil',
  'latencyMs',
  'disabledAt',
] as const;

/** Reads an item leniently: health is advisory, a damaged item must not stop deliveries. */
export function toHealth(item: Record<string, unknown>): HealthItem {
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const circuit = CIRCUITS.includes(item.circuit as Circuit) ? (item.circuit as Circuit) : 'closed';
  const health: Record<string, unknown> = {
    tenantId: String(item.tenantId),
    subscriptionId: String(item.subscriptionId),
    circuit,
    consecutiveFailures: num(item.consecutiveFailures) ?? 0,
    firstFailureAt: str(item.firstFailureAt),
    failingSince: str(item.failingSince),
    lastSuccessAt: str(item.lastSuccessAt),
    lastFailureAt: str(item.lastFailureAt),
    lastError: str(item.lastError),
    openedAt: str(item.openedAt),
    probeLeaseUntil: num(item.probeLeaseUntil),
    slowUntil: num(item.slowUntil),
    latencyMs: num(item.latencyMs),
    disabledAt: str(item.disabledAt),
  };
  for (const key of Object.keys(health)) if (health[key] === undefined) delete health[key];
  return health as unknown as HealthItem;
}

/**
 * The EndpointHealth table. Concurrency: many delivery instances update the same item from
 * slightly stale cached copies, so no write is a blind put of the cached copy:
 * - a failure ADDs 1 to consecutiveFailures (every concurrent failure counts);
 * - opening is a compare-and-set on `circuit = closed`, so exactly one caller reports 'opened';
 * - a success SETs the closed state (last writer wins: a 2xx just now is the freshest truth) and
 *   reads the old item back, so only the caller that found it open reports 'closed';
 * - the probe lease is a conditional update: one caller per lease.
 */
export class DynamoHealthStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly policy: BreakerPolicy = DEFAULT_BREAKER_POLICY,
  ) {}

  async get(tenantId: string, subscriptionId: string): Promise<HealthItem | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { tenantId, subscriptionId }, ConsistentRead: true }));
    return out.Item ? toHealth(out.Item) : undefined;
  }

  /** Every health item of a tenant (all pages). Endpoints that never failed have none. */
  async listByTenant(tenantId: string): Promise<HealthItem[]> {
    const items: HealthItem[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({ TableName: this.tableName, KeyConditionExpression: 'tenantId = :t', ExpressionAttributeValues: { ':t': tenantId }, ExclusiveStartKey }),
      );
      items.push(...(page.Items ?? []).map(toHealth));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return items;
  }

  /** Persists breaker.record()'s result; writes nothing when it says so (a steady healthy endpoint). */
  async save(tenantId: string, subscriptionId: string, result: RecordResult, nowMs: number): Promise<SavedHealth> {
    if (result.write === 'none') return { health: result.health };
    return result.write === 'success' ? this.saveSuccess(tenantId, subscriptionId, result.health, nowMs) : this.saveFailure(tenantId, subscriptionId, result.health, nowMs);
  }

  private async saveSuccess(tenantId: string, subscriptionId: string, health: EndpointHealth, nowMs: number): Promise<SavedHealth> {
    const values: Record<string, unknown> = { ':closed': 'closed', ':zero': 0, ':at': health.lastSuccessAt ?? new Date(nowMs).toISOString() };
    const sets = ['circuit = :closed', 'consecutiveFailures = :zero', 'lastSuccessAt = :at'];
    if (health.latencyMs !== undefined) {
      values[':lat'] = health.latencyMs;
      sets.push('latencyMs = :lat');
    }
    const out = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { tenantId, subscriptionId },
        UpdateExpression: `SET ${sets.join(', ')} REMOVE firstFailureAt, failingSince, openedAt, probeLeaseUntil`,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_OLD',
      }),
    );
    const was = out.Attributes?.circuit;
    return { health, transition: was === 'open' || was === 'half-open' ? 'closed' : undefined };
  }

  private async saveFailure(tenantId: string, subscriptionId: string, health: EndpointHealth, nowMs: number): Promise<SavedHealth> {
    const at = health.lastFailureAt ?? new Date(nowMs).toISOString();
    const values: Record<string, unknown> = { ':one': 1, ':at': at, ':err': health.lastError ?? 'failed', ':closed': 'closed' };
    const sets = ['lastFailureAt = :at', 'lastError = :err', 'firstFailureAt = if_not_exists(firstFailureAt, :at)', 'circuit = if_not_exists(circuit, :closed)'];
    // A slow mark rides along with the failure that caused it; concurrent marks differ by milliseconds.
    if (health.slowUntil !== undefined && health.slowUntil > nowMs) {
      values[':slow'] = health.slowUntil;
      sets.push('slowUntil = :slow');
    }
    const out = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { tenantId, subscriptionId },
        UpdateExpression: `SET ${sets.join(', ')} ADD consecutiveFailures :one`,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    const stored = await this.markFailingSince(tenantId, subscriptionId, toHealth(out.Attributes ?? {}), health, Date.parse(at));
    // Decided on the counted value, not the cached one: two instances each seeing 3 of 5 still open it.
    if (stored.circuit === 'closed' && stored.consecutiveFailures >= this.policy.threshold) {
      const opened = await this.open(tenantId, subscriptionId, at, 'circuit = :closed');
      return opened ? { health: opened, transition: 'opened' } : { health: stored };
    }
    if (stored.circuit !== 'closed') {
      // A failure while open (a probe, a last-chance attempt) restarts the probe interval.
      return { health: (await this.open(tenantId, subscriptionId, at, 'circuit <> :closed')) ?? stored };
    }
    return { health: stored };
  }

  /**
   * Sets the streak's failingSince (breaker.failingSinceAt) once it is due, on the first failure
   * past the window: one more conditional write, once per streak. `mine` is what the caller's
   * breaker made of its cached copy (it knew the failure before this one, for an old streak).
   */
  private async markFailingSince(tenantId: string, subscriptionId: string, stored: HealthItem, mine: EndpointHealth, atMs: number): Promise<HealthItem> {
    if (stored.failingSince !== undefined || stored.firstFailureAt === undefined || !Number.isFinite(atMs)) return stored;
    const since = mine.firstFailureAt === stored.firstFailureAt && mine.failingSince !== undefined ? mine.failingSince : failingSinceAt(stored, undefined, atMs, this.policy);
    if (since === undefined) return stored;
    const updated = await this.updateIf(
      { tenantId, subscriptionId },
      {
        UpdateExpression: 'SET failingSince = :since',
        ConditionExpression: 'attribute_not_exists(failingSince) AND firstFailureAt = :first',
        ExpressionAttributeValues: { ':since': since, ':first': stored.firstFailureAt },
        ReturnValues: 'ALL_NEW',
      },
    );
    // Refused: another failure set it meanwhile, or a success ended the streak; the next failure sees it.
    return updated ? toHealth(updated) : stored;
  }

  /** Sets the circuit open at `at` if `condition` holds; the new item, or undefined when it did not. */
  private async open(tenantId: string, subscriptionId: string, at: string, condition: string): Promise<HealthItem | undefined> {
    const updated = await this.updateIf(
      { tenantId, subscriptionId },
      {
        UpdateExpression: 'SET circuit = :open, openedAt = :at',
        ConditionExpression: condition,
        ExpressionAttributeValues: { ':open': 'open', ':at': at, ':closed': 'closed' },
        ReturnValues: 'ALL_NEW',
      },
    );
    return updated && toHealth(updated);
  }

  /**
   * An UpdateItem under a ConditionExpression: the item's attributes as `ReturnValues` asks (`{}`
   * without), or undefined when DynamoDB refused the write because the condition did not hold.
   */
  private async updateIf(key: Record<string, string>, update: Omit<UpdateCommandInput, 'TableName' | 'Key'>): Promise<Record<string, unknown> | undefined> {
    try {
      const out = await this.db.send(new UpdateCommand({ TableName: this.tableName, Key: key, ...update }));
      return out.Attributes ?? {};
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /**
   * The right to send the one probe of an open circuit: true for exactly one caller until the lease
   * ends (pass the breaker's probeIntervalMs, so a failed probe is not repeated sooner). False also
   * when the circuit closed meanwhile or the item is gone: re-read the health and send normally.
   */
  async acquireProbe(tenantId: string, subscriptionId: string, nowMs: number, leaseMs: number): Promise<boolean> {
    const leased = await this.updateIf(
      { tenantId, subscriptionId },
      {
        UpdateExpression: 'SET probeLeaseUntil = :until, circuit = :half',
        ConditionExpression: 'attribute_exists(circuit) AND circuit <> :closed AND (attribute_not_exists(probeLeaseUntil) OR probeLeaseUntil <= :now)',
        ExpressionAttributeValues: { ':until': nowMs + leaseMs, ':half': 'half-open', ':closed': 'closed', ':now': nowMs },
      },
    );
    return leased !== undefined;
  }

  /**
   * Marks the endpoint slow until `untilMs` (it stays out of the fast lane), without counting a
   * failure: the request that revealed it may still succeed.
   */
  async markSlow(tenantId: string, subscriptionId: string, untilMs: number): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { tenantId, subscriptionId },
        UpdateExpression: 'SET slowUntil = :until, circuit = if_not_exists(circuit, :closed), consecutiveFailures = if_not_exists(consecutiveFailures, :zero)',
        ExpressionAttributeValues: { ':until': untilMs, ':closed': 'closed', ':zero': 0 },
      }),
    );
  }

  /** Forgets the endpoint's history: on resume or a URL change it starts healthy. */
  async reset(tenantId: string, subscriptionId: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: { tenantId, subscriptionId } }));
  }

  /**
   * Marks the health of a subscription a delivery function has just disabled with the time taken
   * before the disabling (`disabledAt`), so the first job after a resume, by whatever writer, resets
   * it. An endpoint without an item (a 410 before any failure) gets none: there is nothing to reset.
   */
  async markDisabled(tenantId: string, subscriptionId: string, at: string): Promise<void> {
    await this.updateIf({ tenantId, subscriptionId }, { UpdateExpression: 'SET disabledAt = :at', ConditionExpression: 'attribute_exists(subscriptionId)', ExpressionAttributeValues: { ':at': at } });
  }

  /**
   * Forgets the endpoint's history, like reset(), only while the item still carries this disabledAt
   * mark (another job may have reset it already, and new failures written since then count). An
   * UpdateItem that removes every attribute, not a DeleteItem: the delivery functions may not delete
   * items. What is left (the keys) reads as healthy.
   */
  async resetIfDisabledAt(tenantId: string, subscriptionId: string, disabledAt: string): Promise<void> {
    await this.updateIf({ tenantId, subscriptionId }, { UpdateExpression: `REMOVE ${HEALTH_ATTRIBUTES.join(', ')}`, ConditionExpression: 'disabledAt = :at', ExpressionAttributeValues: { ':at': disabledAt } });
  }

  /**
   * One request token of the current second: true while fewer than `max` were taken in it.
   * DynamoDB decides (conditional ADD), so the limit holds across all instances.
   */
  async takeToken(tenantId: string, subscriptionId: string, max: number, nowMs: number): Promise<boolean> {
    const window = rateWindow(nowMs);
    const taken = await this.updateIf(
      { tenantId: rateKey(tenantId, subscriptionId), subscriptionId: window.key },
      {
        UpdateExpression: 'ADD n :one SET expiresAt = :exp',
        ConditionExpression: 'attribute_not_exists(n) OR n < :max',
        ExpressionAttributeValues: { ':one': 1, ':max': max, ':exp': window.second + RATE_COUNTER_TTL_SECONDS },
      },
    );
    return taken !== undefined;
  }
}
