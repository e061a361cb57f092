import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SubscriptionLookup } from '../core/route-event';
import type { DisableResult } from '../core/delivery';
import { parseSubscription, subscriptionProblems, type Subscription, type SubscriptionChanges } from '../core/subscriptions';

export type { SubscriptionChanges } from '../core/subscriptions';

export class SubscriptionNotFoundError extends Error {
  constructor(tenantId: string, subscriptionId: string) {
    super(`subscription ${subscriptionId} not found for tenant ${tenantId}`);
    this.name = 'SubscriptionNotFoundError';
  }
}

export class SubscriptionExistsError extends Error {
  constructor(tenantId: string, subscriptionId: string) {
    super(`subscription ${subscriptionId} already exists for tenant ${tenantId}`);
    this.name = 'SubscriptionExistsError';
  }
}

export class ConcurrentModificationError extends Error {
  constructor(
    tenantId: string,
    subscriptionId: string,
    /** The item as it is now (read to tell this from a deleted one). */
    readonly current: Readonly<Record<string, unknown>>,
  ) {
    super(`subscription ${subscriptionId} of tenant ${tenantId} was changed by someone else meanwhile; nothing was written, try again`);
    this.name = 'ConcurrentModificationError';
  }
}

/**
 * An item as stored, valid or not: `subscription` when it meets the schema, else the `problems`
 * (one `path: message` line per broken field) next to the raw `item`.
 */
export type StoredItem =
  | { readonly item: Readonly<Record<string, unknown>>; readonly subscription: Subscription; readonly problems: readonly [] }
  | { readonly item: Readonly<Record<string, unknown>>; readonly subscription: undefined; readonly problems: readonly string[] };

function stored(item: Record<string, unknown>): StoredItem {
  const problems = subscriptionProblems(item);
  return problems.length === 0 ? { item, subscription: parseSubscription(item), problems: [] } : { item, subscription: undefined, problems };
}

/** The subscriptions table (docs/architecture.md §3): the only code that reads or writes its items. */
export class DynamoSubscriptionStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  /** The subscription, or undefined; an item that breaks the schema throws InvalidSubscriptionError. */
  async get(tenantId: string, subscriptionId: string): Promise<Subscription | undefined> {
    const item = await this.getItem(tenantId, subscriptionId);
    return item ? parseSubscription(item, { tenantId, subscriptionId }) : undefined;
  }

  /** The item as stored, with what is wrong with it: for operators, who must see (and fix) broken items too. */
  async read(tenantId: string, subscriptionId: string): Promise<StoredItem | undefined> {
    const item = await this.getItem(tenantId, subscriptionId);
    return item ? stored(item) : undefined;
  }

  private async getItem(tenantId: string, subscriptionId: string): Promise<Record<string, unknown> | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { tenantId, subscriptionId }, ConsistentRead: true }));
    return out.Item;
  }

  /** Every item of a tenant (all pages); items that break the schema are returned apart. */
  async listByTenant(tenantId: string): Promise<SubscriptionLookup> {
    const subscriptions: Subscription[] = [];
    const invalid: { subscriptionId: string; reason: string }[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'tenantId = :t',
          ExpressionAttributeValues: { ':t': tenantId },
          ExclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? []) {
        try {
          subscriptions.push(parseSubscription(item));
        } catch (error) {
          invalid.push({ subscriptionId: String(item.subscriptionId), reason: (error as Error).message });
        }
      }
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return { subscriptions, invalid };
  }

  /** Writes a new subscription; refuses to overwrite an existing one. */
  async create(subscription: Subscription): Promise<void> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: subscription,
          ConditionExpression: 'attribute_not_exists(subscriptionId)',
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new SubscriptionExistsError(subscription.tenantId, subscription.subscriptionId);
      throw error;
    }
  }

  /**
   * Changes attributes of an existing subscription (never creates one); returns the new item, or
   * throws InvalidSubscriptionError (after writing) when the new item breaks the schema.
   * `expected` makes it a compare-and-set: the write happens only while those attributes still
   * hold these values, `undefined` meaning "absent" (a read-modify-write such as a secret
   * rotation cannot lose a concurrent one).
   */
  async update(tenantId: string, subscriptionId: string, changes: SubscriptionChanges, expected: Readonly<Record<string, unknown>> = {}): Promise<Subscription> {
    return parseSubscription(await this.updateItem(tenantId, subscriptionId, changes, expected), { tenantId, subscriptionId });
  }

  /** `update` for an item that may stay broken (an operator fixing one field of several): returns the new item as stored. */
  async updateStored(tenantId: string, subscriptionId: string, changes: SubscriptionChanges, expected: Readonly<Record<string, unknown>> = {}): Promise<StoredItem> {
    return stored(await this.updateItem(tenantId, subscriptionId, changes, expected));
  }

  private async updateItem(tenantId: string, subscriptionId: string, changes: SubscriptionChanges, expected: Readonly<Record<string, unknown>>): Promise<Record<string, unknown>> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    const removes: string[] = [];
    Object.entries(changes).forEach(([key, value], i) => {
      if (value === undefined) return;
      names[`#a${i}`] = key;
      if (value === null) removes.push(`#a${i}`);
      else {
        values[`:v${i}`] = value;
        sets.push(`#a${i} = :v${i}`);
      }
    });
    const conditions = ['attribute_exists(subscriptionId)'];
    Object.entries(expected).forEach(([key, value], i) => {
      names[`#e${i}`] = key;
      if (value === undefined) conditions.push(`attribute_not_exists(#e${i})`);
      else {
        values[`:e${i}`] = value;
        conditions.push(`#e${i} = :e${i}`);
      }
    });
    const expression = [sets.length ? `SET ${sets.join(', ')}` : '', removes.length ? `REMOVE ${removes.join(', ')}` : ''].filter(Boolean).join(' ');
    if (!expression) {
      const current = await this.getItem(tenantId, subscriptionId);
      if (!current) throw new SubscriptionNotFoundError(tenantId, subscriptionId);
      return current;
    }
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { tenantId, subscriptionId },
          UpdateExpression: expression,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: { ...names },
          ExpressionAttributeValues: Object.keys(values).length ? values : undefined,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes ?? {};
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const current = Object.keys(expected).length > 0 ? await this.getItem(tenantId, subscriptionId) : undefined;
      if (current) throw new ConcurrentModificationError(tenantId, subscriptionId, current);
      throw new SubscriptionNotFoundError(tenantId, subscriptionId);
    }
  }

  /**
   * Disables a subscription with a reason, only while it is active at `url` (one conditional
   * UpdateItem): 'disabled'; else what it found instead (update's read after the refused write):
   * 'moved' (active at another URL), 'not-active' (disabled or paused meanwhile, or deleted: a
   * deleted one stays deleted).
   */
  async disable(tenantId: string, subscriptionId: string, reason: string, now: Date, url: string): Promise<DisableResult> {
    try {
      await this.update(tenantId, subscriptionId, { state: 'disabled', disabledReason: reason, updatedAt: now.toISOString() }, { state: 'active', url });
      return 'disabled';
    } catch (error) {
      if (error instanceof SubscriptionNotFoundError) return 'not-active';
      if (!(error instanceof ConcurrentModificationError)) throw error;
      return error.current.state === 'active' ? 'moved' : 'not-active';
    }
  }

  async delete(tenantId: string, subscriptionId: string): Promise<void> {
    try {
      await this.db.send(
        new DeleteCommand({ TableName: this.tableName, Key: { tenantId, subscriptionId }, ConditionExpression: 'attribute_exists(subscriptionId)' }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new SubscriptionNotFoundError(tenantId, subscriptionId);
      throw error;
    }
  }
}
