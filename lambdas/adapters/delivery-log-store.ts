import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { EventName } from '../core/catalog';
import { expiresAt, INDEXED_STATES, isDeliveryState, type AttemptRecord, type DeliveryRecord, type DeliveryState } from '../core/delivery-log';
import { BATCH_GET_MAX, DELIVERY_LOG_INDEX, DELIVERY_LOG_INDEX_KEYS, DeliveryLogWriter, UNPROCESSED_ROUNDS, entityKey, isConditionFailure, stateKey } from './delivery-log-writer';

export { DELIVERY_LOG_INDEX, DELIVERY_LOG_INDEX_KEYS, DELIVERY_LOG_PROJECTED, entityKey, listKey, stateKey } from './delivery-log-writer';

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

/**
 * The whole delivery log: what the functions write (DeliveryLogWriter), plus reading it and the
 * operators' marks, for the CLI and the console.
 */
export class DynamoDeliveryLog extends DeliveryLogWriter {
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
