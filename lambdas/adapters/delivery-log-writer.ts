import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  expiresAt,
  INDEXED_STATES,
  isDeliveryState,
  type DeliveryFacts,
  type DeliveryLogMode,
  type DeliveryLogPort,
  type DeliveryLogUpdate,
  type DeliveryState,
  type QueuedOptions,
} from '../core/delivery-log';

/**
 * The DeliveryLog table (docs/architecture.md §8).
 *
 * | what | key | written |
 * |---|---|---|
 * | table | `tenantId` / `deliveryId` | every write |
 * | index `byTenant` | `tenantId` / `listKey` (= createdAt#deliveryId) | once, when the record is created |
 * | index `byEntity` | `entityKey` (= tenant#entity uuid) / `listKey` | once, when the record is created |
 * | index `byState` | `stateKey` (= tenant#state) / `listKey` | only in retrying, parked, dropped, discarded (sparse) |
 *
 * The indexes project the keys plus `subscriptionId` and `entityUuid`, which never change, so an
 * update that does not change the state's index key writes the table only.
 */
export const DELIVERY_LOG_INDEX = { byTenant: 'byTenant', byEntity: 'byEntity', byState: 'byState' } as const;
export const DELIVERY_LOG_INDEX_KEYS = {
  byTenant: { partition: 'tenantId', sort: 'listKey' },
  byEntity: { partition: 'entityKey', sort: 'listKey' },
  byState: { partition: 'stateKey', sort: 'listKey' },
} as const;
/** Attributes the indexes carry besides their keys (immutable, so updates do not rewrite index items). */
export const DELIVERY_LOG_PROJECTED = ['subscriptionId', 'entityUuid'] as const;

/** BatchWriteItem takes at most 25 items; BatchGetItem at most 100. */
const BATCH_WRITE_MAX = 25;
export const BATCH_GET_MAX = 100;
/** Rounds of retrying unprocessed items before the write counts as failed. */
export const UNPROCESSED_ROUNDS = 3;

export const entityKey = (tenantId: string, uuid: string) => `${tenantId}#${uuid}`;
export const stateKey = (tenantId: string, state: DeliveryState) => `${tenantId}#${state}`;
export const listKey = (createdAt: string, deliveryId: string) => `${createdAt}#${deliveryId}`;

/**
 * The functions' side of the delivery log: records queued deliveries and their outcomes. Reading
 * and operators' marks (the CLI, the console) are DynamoDeliveryLog (delivery-log-store.ts), which
 * the functions do not bundle.
 */
export class DeliveryLogWriter implements DeliveryLogPort {
  constructor(
    protected readonly db: DynamoDBDocumentClient,
    readonly tableName: string,
    readonly retentionDays: number,
    /** What the functions record (setting `deliveryLog`): tells readers why a delivery may have no record. */
    readonly mode: DeliveryLogMode = 'all',
  ) {}

  /**
   * Records queued deliveries as `pending` and never replaces a record that exists: one
   * BatchGetItem (100 keys a call, the keys and state only) finds the records an earlier fan-out of
   * the same event left (a Lambda retry after a partly failed fan-out, a duplicate invocation, a
   * redrive, a replay). New records: one PutRequest each, 25 to a BatchWriteItem call, unprocessed
   * items retried, then it throws. Existing records: one UpdateItem each (`pending` again, attempts
   * kept), or left alone when `leave` says so for their state. A key DynamoDB left unread counts as
   * existing in an unknown state (updated: never replaced, never skipped).
   */
  async logQueued(facts: readonly DeliveryFacts[], at: string, options: QueuedOptions = {}): Promise<ReadonlyMap<string, DeliveryState>> {
    const existing = await this.statesOf(facts);
    const left = new Map<string, DeliveryState>();
    const fresh: DeliveryFacts[] = [];
    const again: DeliveryFacts[] = [];
    const { queuedBy, requeuedBy } = options;
    for (const f of facts) {
      if (!existing.has(f.deliveryId)) fresh.push(f);
      else {
        const found = existing.get(f.deliveryId);
        if (found !== undefined && options.leave?.(found.state, found.queuedBy) === true) left.set(f.deliveryId, found.state);
        else again.push(f);
      }
    }
    await Promise.all([this.putPending(fresh, at, queuedBy), ...again.map((f) => this.logUpdate({ facts: f, state: 'pending', at, ...(queuedBy !== undefined ? { queuedBy } : {}), ...(requeuedBy !== undefined ? { requeuedBy } : {}) }))]);
    return left;
  }

  /**
   * The state (and `queuedBy`) of each delivery that has a record (undefined: DynamoDB did not read
   * the key, or its state is unknown; treat it as existing).
   */
  private async statesOf(facts: readonly DeliveryFacts[]): Promise<Map<string, { state: DeliveryState; queuedBy?: string } | undefined>> {
    const states = new Map<string, { state: DeliveryState; queuedBy?: string } | undefined>();
    const { items, unread } = await this.batchRead(
      facts.map((f) => ({ tenantId: f.tenantId, deliveryId: f.deliveryId })),
      { ProjectionExpression: '#id, #state, queuedBy', ExpressionAttributeNames: { '#id': 'deliveryId', '#state': 'state' } },
      UNPROCESSED_ROUNDS,
    );
    for (const key of unread) states.set(key.deliveryId, undefined);
    for (const item of items) {
      const state = String(item.state);
      const queuedBy = typeof item.queuedBy === 'string' ? { queuedBy: item.queuedBy } : {};
      states.set(String(item.deliveryId), isDeliveryState(state) ? { state, ...queuedBy } : undefined);
    }
    return states;
  }

  /** New `pending` records, 25 to a BatchWriteItem call; unprocessed items retried, then it throws. */
  private async putPending(facts: readonly DeliveryFacts[], at: string, queuedBy?: string): Promise<void> {
    const exp = expiresAt(new Date(at), this.retentionDays);
    const items = facts.map((f) => ({
      ...f,
      ...(queuedBy !== undefined ? { queuedBy } : {}),
      state: 'pending',
      stateAt: at,
      createdAt: at,
      updatedAt: at,
      attempts: [],
      lastStatusCode: null,
      listKey: listKey(at, f.deliveryId),
      entityKey: entityKey(f.tenantId, f.entityUuid),
      expiresAt: exp,
    }));
    for (let i = 0; i < items.length; i += BATCH_WRITE_MAX) {
      let requests = items.slice(i, i + BATCH_WRITE_MAX).map((Item) => ({ PutRequest: { Item } }));
      for (let round = 0; requests.length > 0; round++) {
        if (round === UNPROCESSED_ROUNDS) throw new Error(`${requests.length} delivery log records were not written after ${UNPROCESSED_ROUNDS} tries (throttled)`);
        const out = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }));
        requests = (out.UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
      }
    }
  }

  /**
   * One UpdateItem: the state, the attempt appended, and the facts if the record is missing (fan-out
   * could not write it), so a record written by the delivery alone is complete and indexed.
   */
  async logUpdate(update: DeliveryLogUpdate): Promise<void> {
    const { facts, state, at } = update;
    const stateAt = update.stateAt ?? at;
    // What every write does: the facts if missing, and the attempt appended.
    const factNames: Record<string, string> = {};
    const factValues: Record<string, unknown> = { ':at': at, ':exp': expiresAt(new Date(at), this.retentionDays), ':listKey': listKey(at, facts.deliveryId), ':entityKey': entityKey(facts.tenantId, facts.entityUuid), ':none': [] };
    const factSet: string[] = ['createdAt = if_not_exists(createdAt, :at)', 'listKey = if_not_exists(listKey, :listKey)', 'entityKey = if_not_exists(entityKey, :entityKey)', 'expiresAt = :exp'];
    const factFields = ['subscriptionId', 'event', 'eventId', 'entityUuid', 'entityNumber', 'body', 'occurredAt'] as const;
    factFields.forEach((field, i) => {
      factNames[`#f${i}`] = field;
      factValues[`:f${i}`] = facts[field];
      factSet.push(`#f${i} = if_not_exists(#f${i}, :f${i})`);
    });
    if (update.attempt) {
      factValues[':attempt'] = [update.attempt];
      factSet.push('attempts = list_append(if_not_exists(attempts, :none), :attempt)');
    } else factSet.push('attempts = if_not_exists(attempts, :none)');
    // The state, only if it is not older than the record's (writes may land out of order).
    const names: Record<string, string> = { ...factNames, '#state': 'state', '#stateAt': 'stateAt' };
    const values: Record<string, unknown> = { ...factValues, ':state': state, ':stateAt': stateAt, ':pending': 'pending' };
    const set = [...factSet, '#state = :state', '#stateAt = :stateAt', 'updatedAt = :at'];
    const remove: string[] = [];
    if (update.attempt) {
      values[':code'] = update.attempt.statusCode;
      set.push('lastStatusCode = :code');
    } else {
      values[':nocode'] = null;
      set.push('lastStatusCode = if_not_exists(lastStatusCode, :nocode)');
    }
    if (update.reason !== undefined) {
      values[':reason'] = update.reason;
      set.push('reason = :reason');
    } else remove.push('reason');
    if (update.url !== undefined) {
      values[':url'] = update.url;
      set.push('#url = :url');
      names['#url'] = 'url';
    }
    if (update.queuedBy !== undefined) {
      values[':queuedBy'] = update.queuedBy;
      set.push('queuedBy = :queuedBy');
    }
    if (update.requeuedBy !== undefined) {
      values[':requeue'] = [{ at, by: update.requeuedBy }];
      set.push('requeues = list_append(if_not_exists(requeues, :none), :requeue)');
    }
    if (INDEXED_STATES.includes(state)) {
      values[':stateKey'] = stateKey(facts.tenantId, state);
      set.push('stateKey = :stateKey');
    } else remove.push('stateKey');
    const key = { tenantId: facts.tenantId, deliveryId: facts.deliveryId };
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
          // `pending` (queued again by an operator, before the job was sent) always gives way to an
          // attempt, whatever the clocks of the operator's machine and the functions say.
          ConditionExpression: 'attribute_not_exists(#stateAt) OR #stateAt <= :stateAt OR #state = :pending',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // A later state is already there: keep it, add only this attempt (nothing else to record).
      if (!update.attempt) return;
      await this.db.send(
        new UpdateCommand({ TableName: this.tableName, Key: key, UpdateExpression: `SET ${factSet.join(', ')}`, ExpressionAttributeNames: factNames, ExpressionAttributeValues: factValues }),
      );
    }
  }

  /**
   * BatchGetItem in chunks of BATCH_GET_MAX, asking again for the keys DynamoDB left unprocessed,
   * at most `rounds` times per chunk: the items read, and the keys still unread after that.
   */
  protected async batchRead(
    keys: ReadonlyArray<{ tenantId: string; deliveryId: string }>,
    projection: { ProjectionExpression?: string; ExpressionAttributeNames?: Record<string, string> },
    rounds: number,
  ): Promise<{ items: Record<string, unknown>[]; unread: Array<{ tenantId: string; deliveryId: string }> }> {
    const items: Record<string, unknown>[] = [];
    const unread: Array<{ tenantId: string; deliveryId: string }> = [];
    for (let i = 0; i < keys.length; i += BATCH_GET_MAX) {
      let pending: Array<Record<string, unknown>> = keys.slice(i, i + BATCH_GET_MAX);
      for (let round = 0; pending.length > 0 && round < rounds; round++) {
        const out = await this.db.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending, ...projection } } }));
        items.push(...(out.Responses?.[this.tableName] ?? []));
        pending = out.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
      unread.push(...pending.map((k) => ({ tenantId: String(k.tenantId), deliveryId: String(k.deliveryId) })));
    }
    return { items, unread };
  }
}

export function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException';
}
