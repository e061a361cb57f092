import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EventName } from '../core/catalog';
import {
  expiresAt,
  INDEXED_STATES,
  isDeliveryState,
  type AttemptRecord,
  type DeliveryFacts,
  type DeliveryLogMode,
  type DeliveryLogPort,
  type DeliveryLogUpdate,
  type DeliveryRecord,
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
const BATCH_GET_MAX = 100;
/** Rounds of retrying unprocessed items before the write counts as failed. */
const UNPROCESSED_ROUNDS = 3;

export const entityKey = (tenantId: string, uuid: string) => `${tenantId}#${uuid}`;
export const stateKey = (tenantId: string, state: DeliveryState) => `${tenantId}#${state}`;
export const listKey = (createdAt: string, deliveryId: string) => `${createdAt}#${deliveryId}`;

export interface DeliveryQuery {
  readonly tenantId: string;
  readonly subscriptionId?: string;
  readonly entityUuid?: string;
  /**
   * Only records about the entity of this number. No index carries it: it is checked on the records
   * read (the tenant's records of the window, newest first), so a page stops after reading about
   * `maxRecordsRead` of them and its `next` continues the search further back.
   */
  readonly entityNumber?: string;
  readonly maxRecordsRead?: number;
  readonly state?: DeliveryState;
  /** Only records created at or after this time. */
  readonly since?: Date;
  /** Only records created before this time. */
  readonly until?: Date;
  readonly limit: number;
  /** From a previous page's `next`. */
  readonly cursor?: string;
}

export interface DeliveryPage {
  readonly records: readonly DeliveryRecord[];
  /** Continues the listing; null when there is nothing more. */
  readonly next: string | null;
  /** Items DynamoDB read for this page (index items plus records), for the README's cost table. */
  readonly itemsRead: number;
  /** The page stopped at `maxRecordsRead` before `limit` matches: `next` searches on. */
  readonly readLimitReached?: boolean;
}

export class InvalidCursorError extends Error {
  constructor() {
    super('the cursor is not one this command printed');
    this.name = 'InvalidCursorError';
  }
}

export class DynamoDeliveryLog implements DeliveryLogPort {
  constructor(
    private readonly db: DynamoDBDocumentClient,
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
   * Sets the state of an existing record (an operator's action: discard, resend); false when there
   * is no record (never logged, or expired). Attempts are kept: the record is the whole history.
   */
  async mark(tenantId: string, deliveryId: string, state: DeliveryState, reason: string | undefined, at: Date, requeuedBy?: string): Promise<boolean> {
    const values: Record<string, unknown> = { ':state': state, ':at': at.toISOString(), ':exp': expiresAt(at, this.retentionDays) };
    const set = ['#state = :state', 'stateAt = :at', 'updatedAt = :at', 'expiresAt = :exp'];
    // Queued again by an operator (resend, redrive): noted, so the attempts that follow are explained.
    if (requeuedBy !== undefined) {
      values[':requeue'] = [{ at: at.toISOString(), by: requeuedBy }];
      values[':none'] = [];
      set.push('requeues = list_append(if_not_exists(requeues, :none), :requeue)');
    }
    const remove: string[] = [];
    if (reason !== undefined) {
      values[':reason'] = reason;
      set.push('reason = :reason');
    } else remove.push('reason');
    if (INDEXED_STATES.includes(state)) {
      values[':stateKey'] = stateKey(tenantId, state);
      set.push('stateKey = :stateKey');
    } else remove.push('stateKey');
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { tenantId, deliveryId },
          UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
          ConditionExpression: 'attribute_exists(deliveryId)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** One GetItem (strongly consistent: `get` right after an attempt shows it). */
  async get(tenantId: string, deliveryId: string): Promise<DeliveryRecord | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { tenantId, deliveryId }, ConsistentRead: true }));
    return out.Item ? toRecord(out.Item) : undefined;
  }

  /**
   * Newest first. The index is chosen by the filters: a state with an index of its own → byState;
   * an entity → byEntity; otherwise byTenant. Subscription and entity filters on another index are
   * filter expressions on its projected attributes; `pending` and `delivered` are checked on the
   * records read. A page ends after `limit` matches; it has a cursor (the last returned record)
   * only when one more record matches, so the listing reads up to `limit` + 1 matches.
   *
   * Only records of the queried tenant are returned. The tenant id and the entity uuid may both
   * contain `#`, so `entityKey` does not identify the tenant alone (`globex` + `eu#order-42` and
   * `globex#eu` + `order-42` share a partition of byEntity): that index is read with a filter on
   * `tenantId` (an index always projects the table's keys), and every index item read is checked.
   */
  async list(query: DeliveryQuery): Promise<DeliveryPage> {
    const { index, partition, partitionValue } = chooseIndex(query);
    const names: Record<string, string> = { '#pk': partition };
    const values: Record<string, unknown> = { ':pk': partitionValue };
    let keyCondition = '#pk = :pk';
    // listKey is `createdAt#deliveryId`: a record created exactly at `until` sorts after the bare
    // time, so `<=`/BETWEEN on the time alone keeps `until` exclusive.
    if (query.since || query.until) names['#lk'] = 'listKey';
    if (query.since) values[':since'] = query.since.toISOString();
    if (query.until) values[':until'] = query.until.toISOString();
    if (query.since && query.until) keyCondition += ' AND #lk BETWEEN :since AND :until';
    else if (query.since) keyCondition += ' AND #lk >= :since';
    else if (query.until) keyCondition += ' AND #lk <= :until';
    const filters: string[] = [];
    // entityKey (tenant#uuid) may be shared by two tenants; stateKey (tenant#state) cannot, as no
    // state contains '#', and byTenant's key is the tenant id itself.
    if (index === DELIVERY_LOG_INDEX.byEntity) {
      names['#tenant'] = 'tenantId';
      values[':tenant'] = query.tenantId;
      filters.push('#tenant = :tenant');
    }
    if (query.subscriptionId !== undefined) {
      names['#sub'] = 'subscriptionId';
      values[':sub'] = query.subscriptionId;
      filters.push('#sub = :sub');
    }
    if (query.entityUuid !== undefined && index !== DELIVERY_LOG_INDEX.byEntity) {
      names['#ent'] = 'entityUuid';
      values[':ent'] = query.entityUuid;
      filters.push('#ent = :ent');
    }
    // Checked on the records even with the state's own index: an index is eventually consistent and
    // may still list a record that has moved on.
    const checkState = query.state;
    const checkNumber = query.entityNumber;
    // Without a state or number to check on the records, (nearly) every index item returned is a match.
    const mostlyMatch = (!checkState || index === DELIVERY_LOG_INDEX.byState) && checkNumber === undefined;
    let start = query.cursor === undefined ? undefined : decodeCursor(query.cursor, query.tenantId, partition, partitionValue);
    const records: DeliveryRecord[] = [];
    let itemsRead = 0;
    let lastKey: Record<string, unknown> | undefined;
    for (;;) {
      // One match beyond the page: the page has a cursor only if that one exists.
      const want = query.limit + 1 - records.length;
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: index,
          KeyConditionExpression: keyCondition,
          FilterExpression: filters.length ? filters.join(' AND ') : undefined,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ScanIndexForward: false,
          ExclusiveStartKey: start,
          // Limit counts the index items evaluated, before the filter: with a filter, at least 25 a
          // call (small index items), though only the records needed are read below.
          // A search by entity number reads every record of the window: 100 at a time (one BatchGetItem).
          Limit: checkNumber !== undefined ? BATCH_GET_MAX : !mostlyMatch ? Math.max(want * 2, 25) : filters.length ? Math.max(want, 25) : want,
        }),
      );
      itemsRead += out.ScannedCount ?? 0;
      // Another tenant's item is never read further nor returned, whatever the index holds.
      const keys = ((out.Items ?? []) as Array<Record<string, unknown>>).filter((k) => k.tenantId === query.tenantId);
      for (let i = 0; i < keys.length; ) {
        const chunk = keys.slice(i, mostlyMatch ? i + query.limit + 1 - records.length : keys.length);
        i += chunk.length;
        const read = await this.batchGet(chunk.map((k) => ({ tenantId: k.tenantId as string, deliveryId: k.deliveryId as string })));
        itemsRead += read.size;
        for (const key of chunk) {
          const record = read.get(key.deliveryId as string);
          if (!record || (checkState && record.state !== checkState) || (checkNumber !== undefined && record.entityNumber !== checkNumber)) continue;
          // A match after a full page: more follow, and the next page starts after the page's last record.
          if (records.length === query.limit) return { records, next: encodeCursor(lastKey!), itemsRead };
          records.push(record);
          lastKey = { tenantId: key.tenantId, deliveryId: key.deliveryId, [partition]: partitionValue, listKey: key.listKey };
        }
      }
      if (!out.LastEvaluatedKey) return { records, next: null, itemsRead };
      // A search on the records (the entity number) read its share: the next page goes on from here.
      if (checkNumber !== undefined && query.maxRecordsRead !== undefined && itemsRead >= query.maxRecordsRead) {
        return { records, next: encodeCursor(out.LastEvaluatedKey), itemsRead, readLimitReached: true };
      }
      start = out.LastEvaluatedKey;
    }
  }

  /** Whole records by id, 100 to a BatchGetItem call: those that exist (one tenant's). */
  async getMany(tenantId: string, deliveryIds: readonly string[]): Promise<DeliveryRecord[]> {
    return [...(await this.batchGet(deliveryIds.map((deliveryId) => ({ tenantId, deliveryId })))).values()];
  }

  private async batchGet(keys: ReadonlyArray<{ tenantId: string; deliveryId: string }>): Promise<Map<string, DeliveryRecord>> {
    const { items } = await this.batchRead(keys, {}, UNPROCESSED_ROUNDS + 2);
    return new Map(items.map((item) => [String(item.deliveryId), toRecord(item)]));
  }

  /**
   * BatchGetItem in chunks of BATCH_GET_MAX, asking again for the keys DynamoDB left unprocessed,
   * at most `rounds` times per chunk: the items read, and the keys still unread after that.
   */
  private async batchRead(
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

function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException';
}

function chooseIndex(query: DeliveryQuery): { index: string; partition: string; partitionValue: string } {
  if (query.state !== undefined && INDEXED_STATES.includes(query.state)) {
    return { index: DELIVERY_LOG_INDEX.byState, partition: DELIVERY_LOG_INDEX_KEYS.byState.partition, partitionValue: stateKey(query.tenantId, query.state) };
  }
  if (query.entityUuid !== undefined) {
    return { index: DELIVERY_LOG_INDEX.byEntity, partition: DELIVERY_LOG_INDEX_KEYS.byEntity.partition, partitionValue: entityKey(query.tenantId, query.entityUuid) };
  }
  return { index: DELIVERY_LOG_INDEX.byTenant, partition: DELIVERY_LOG_INDEX_KEYS.byTenant.partition, partitionValue: query.tenantId };
}

/** A page's cursor: the position (listKey = createdAt#deliveryId) of its last record, base64url. */
function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(String(key.listKey), 'utf8').toString('base64url');
}

/** The index key to start after: the cursor's position in the partition the query reads. */
function decodeCursor(cursor: string, tenantId: string, partition: string, partitionValue: string): Record<string, unknown> {
  const position = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^(\d{4}-\d{2}-\d{2}T[\d:.]+Z)#(.+)$/.exec(position);
  if (!match || Buffer.from(position, 'utf8').toString('base64url') !== cursor) throw new InvalidCursorError();
  return { tenantId, deliveryId: match[2], listKey: position, [partition]: partitionValue };
}

/** Reads a stored item leniently: a record is for reading, a damaged field must not hide the rest. */
export function toRecord(item: Record<string, unknown>): DeliveryRecord {
  const str = (v: unknown, fallback = '') => (typeof v === 'string' ? v : fallback);
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const state = str(item.state);
  const event = str(item.event);
  // In the order they were made (two lanes' writes may land the other way round).
  const attempts = Array.isArray(item.attempts) ? (item.attempts as Array<Record<string, unknown>>).map(toAttempt).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)) : [];
  return {
    tenantId: str(item.tenantId),
    deliveryId: str(item.deliveryId),
    subscriptionId: str(item.subscriptionId),
    event: event as EventName,
    eventId: str(item.eventId),
    entityUuid: str(item.entityUuid),
    entityNumber: typeof item.entityNumber === 'string' ? item.entityNumber : null,
    body: str(item.body),
    occurredAt: str(item.occurredAt),
    state: isDeliveryState(state) ? state : 'pending',
    createdAt: str(item.createdAt),
    updatedAt: str(item.updatedAt),
    attempts,
    lastStatusCode: num(item.lastStatusCode),
    ...(typeof item.reason === 'string' ? { reason: item.reason } : {}),
    ...(typeof item.url === 'string' ? { url: item.url } : {}),
    ...(typeof item.queuedBy === 'string' ? { queuedBy: item.queuedBy } : {}),
    ...(Array.isArray(item.requeues) ? { requeues: (item.requeues as Array<Record<string, unknown>>).filter((r) => typeof r?.at === 'string' && typeof r.by === 'string').map((r) => ({ at: r.at as string, by: r.by as string })) } : {}),
    expiresAt: num(item.expiresAt) ?? 0,
  };
}

function toAttempt(a: Record<string, unknown>): AttemptRecord {
  return {
    attempt: typeof a.attempt === 'number' ? a.attempt : 0,
    at: typeof a.at === 'string' ? a.at : '',
    statusCode: typeof a.statusCode === 'number' ? a.statusCode : null,
    durationMs: typeof a.durationMs === 'number' ? a.durationMs : 0,
    error: typeof a.error === 'string' ? a.error : null,
    response: typeof a.response === 'string' ? a.response : null,
    ...(typeof a.lane === 'string' ? { lane: a.lane } : {}),
  };
}
