/**
 * Counts what the functions ask of the local DynamoDB and SQS, the way AWS bills it: calls per
 * operation, bytes, SQS's 64 KB request chunks, DynamoDB item sizes, write and read request units
 * and index writes. Runs in the emulator host (always on; a few additions per request and a walk
 * over each written item), read by `npm run cost` through the host's `stats` operation.
 *
 * DynamoDB item size (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
 *   item      = Σ over attributes of (UTF-8 bytes of the name + size of the value)
 *   S         = UTF-8 bytes;  B = raw bytes;  NULL, BOOL = 1
 *   N         = 1 + ceil(significant digits / 2), +1 if negative (AWS: "approximately"; ±1 byte)
 *   SS/NS/BS  = Σ of the elements' sizes
 *   L         = 3 + Σ (1 + element size);  M = 3 + Σ (1 + UTF-8 bytes of the key + value size)
 * Write request units: ceil(size / 1 KB), at least 1; an UpdateItem (or a PutItem that replaces)
 * costs by the larger of the item before and after. Each global or local secondary index the write
 * touches costs ceil(index item size / 1 KB): a new index entry 1 put, a removed one 1 delete, a
 * changed index key a delete and a put, a changed projected attribute 1 update, else nothing. An
 * index item = its key attributes + the table's key attributes + the projected attributes.
 * Read request units: eventually consistent 0.5 per 4 KB (strongly consistent 1), a GetItem by its
 * item (a missing item still costs the minimum), a Query by the sum of the items it returned.
 * A write refused by its condition still costs (counted as 1 WRU: the item size it was checked
 * against is not known here).
 */

/** An attribute value in DynamoDB's JSON wire format. */
export interface AttributeValue {
  readonly S?: string;
  readonly N?: string;
  readonly B?: string;
  readonly BOOL?: boolean;
  readonly NULL?: boolean;
  readonly L?: readonly AttributeValue[];
  readonly M?: Readonly<Record<string, AttributeValue>>;
  readonly SS?: readonly string[];
  readonly NS?: readonly string[];
  readonly BS?: readonly string[];
}
export type Item = Readonly<Record<string, AttributeValue>>;

const utf8 = (text: string): number => Buffer.byteLength(text, 'utf8');

/** Size of a DynamoDB number: 1 byte + 1 per two significant digits, +1 if negative. */
export function numberSize(value: string): number {
  const text = value.trim();
  const negative = text.startsWith('-');
  const [mantissa = ''] = text.replace(/^[-+]/, '').toLowerCase().split('e');
  const digits = mantissa.replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  if (digits.length === 0) return 1;
  return 1 + Math.ceil(digits.length / 2) + (negative ? 1 : 0);
}

export function attributeValueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return Buffer.from(value.B, 'base64').length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS) return value.SS.reduce((sum, s) => sum + utf8(s), 0);
  if (value.NS) return value.NS.reduce((sum, n) => sum + numberSize(n), 0);
  if (value.BS) return value.BS.reduce((sum, b) => sum + Buffer.from(b, 'base64').length, 0);
  if (value.L) return 3 + value.L.reduce((sum, v) => sum + 1 + attributeValueSize(v), 0);
  if (value.M) return 3 + Object.entries(value.M).reduce((sum, [k, v]) => sum + 1 + utf8(k) + attributeValueSize(v), 0);
  return 0;
}

export function itemSize(item: Item): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += utf8(name) + attributeValueSize(value);
  return size;
}

export const writeUnits = (bytes: number): number => Math.max(1, Math.ceil(bytes / 1024));
export const readUnits = (bytes: number, consistent: boolean): number => Math.max(1, Math.ceil(bytes / 4096)) * (consistent ? 1 : 0.5);

/** What the counter needs to know of a table (dynalite's table description has it). */
export interface TableShape {
  readonly TableName: string;
  readonly KeySchema: ReadonlyArray<{ readonly AttributeName: string }>;
  readonly GlobalSecondaryIndexes?: readonly IndexShape[];
  readonly LocalSecondaryIndexes?: readonly IndexShape[];
}
export interface IndexShape {
  readonly IndexName: string;
  readonly KeySchema: ReadonlyArray<{ readonly AttributeName: string }>;
  readonly Projection?: { readonly ProjectionType?: string; readonly NonKeyAttributes?: readonly string[] };
}

export interface IndexWrite {
  readonly index: string;
  readonly kind: 'put' | 'delete' | 'replace' | 'update';
  readonly wru: number;
}

const same = (a: AttributeValue | undefined, b: AttributeValue | undefined): boolean => JSON.stringify(a) === JSON.stringify(b);

function indexItem(item: Item, index: IndexShape, tableKeys: readonly string[]): Item {
  if (index.Projection?.ProjectionType === 'ALL') return item;
  const names = [...index.KeySchema.map((k) => k.AttributeName), ...tableKeys, ...(index.Projection?.ProjectionType === 'INCLUDE' ? (index.Projection.NonKeyAttributes ?? []) : [])];
  const out: Record<string, AttributeValue> = {};
  for (const name of names) if (item[name] !== undefined) out[name] = item[name];
  return out;
}

/** The index writes one item write causes (DynamoDB's rules, see the top of this file). */
export function indexWrites(table: TableShape, before: Item | undefined, after: Item | undefined): IndexWrite[] {
  const tableKeys = table.KeySchema.map((k) => k.AttributeName);
  const out: IndexWrite[] = [];
  for (const index of [...(table.GlobalSecondaryIndexes ?? []), ...(table.LocalSecondaryIndexes ?? [])]) {
    const keys = index.KeySchema.map((k) => k.AttributeName);
    const inBefore = before !== undefined && keys.every((k) => before[k] !== undefined);
    const inAfter = after !== undefined && keys.every((k) => after[k] !== undefined);
    const old = inBefore ? indexItem(before, index, tableKeys) : undefined;
    const now = inAfter ? indexItem(after, index, tableKeys) : undefined;
    if (!old && now) out.push({ index: index.IndexName, kind: 'put', wru: writeUnits(itemSize(now)) });
    else if (old && !now) out.push({ index: index.IndexName, kind: 'delete', wru: writeUnits(itemSize(old)) });
    else if (old && now) {
      if (keys.some((k) => !same(old[k], now[k]))) out.push({ index: index.IndexName, kind: 'replace', wru: writeUnits(itemSize(old)) + writeUnits(itemSize(now)) });
      else if (JSON.stringify(old) !== JSON.stringify(now)) out.push({ index: index.IndexName, kind: 'update', wru: writeUnits(Math.max(itemSize(old), itemSize(now))) });
    }
  }
  return out;
}

/** DynamoDB's per-item storage overhead (table and index items alike). */
export const ITEM_STORAGE_OVERHEAD_BYTES = 100;

export interface OperationStats {
  calls: number;
  /** Request and response bodies (bytes). */
  requestBytes: number;
  responseBytes: number;
  /** Answers other than 2xx. */
  errors: number;
  /** SQS: billed requests (each 64 KB chunk of the larger of request and response is one). */
  billedRequests: number;
  /** SQS ReceiveMessage that returned no message. */
  empty: number;
  /** SQS: messages sent, received or deleted. */
  messages: number;
}

export interface TableStats {
  /** Calls naming this table, by operation. */
  calls: Record<string, number>;
  /** Item writes (a BatchWriteItem counts each of its items). */
  itemWrites: number;
  /** Σ of the larger of the item sizes before and after each write (bytes). */
  itemBytes: number;
  /** Largest item written (bytes, after the write). */
  maxItemBytes: number;
  wru: number;
  /** Writes refused by their condition (each counted as 1 WRU, also in `wru`). */
  conditionalFailures: number;
  /** By index name. */
  indexWrites: Record<string, { writes: number; wru: number; bytes: number }>;
  rru: number;
  itemsRead: number;
  readBytes: number;
  /** Net growth of the stored data, table and index items with their 100-byte overhead (bytes). */
  storageDeltaBytes: number;
}

export interface ApiStatsSnapshot {
  readonly dynamodb: { readonly operations: Record<string, OperationStats>; readonly tables: Record<string, TableStats> };
  readonly sqs: { readonly operations: Record<string, OperationStats> };
}

const emptyOperation = (): OperationStats => ({ calls: 0, requestBytes: 0, responseBytes: 0, errors: 0, billedRequests: 0, empty: 0, messages: 0 });
const emptyTable = (): TableStats => ({ calls: {}, itemWrites: 0, itemBytes: 0, maxItemBytes: 0, wru: 0, conditionalFailures: 0, indexWrites: {}, rru: 0, itemsRead: 0, readBytes: 0, storageDeltaBytes: 0 });

/** What one finished request tells the counter. */
export interface RequestRecord {
  readonly service: 'dynamodb' | 'sqs';
  /** The operation, from `X-Amz-Target` (`DynamoDB_20120810.PutItem` → `PutItem`). */
  readonly operation: string;
  readonly status: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
  /** Parsed request body, when the service's handler needs it (DynamoDB: tables, ConsistentRead). */
  readonly request?: unknown;
  /** Parsed response body (DynamoDB reads, errors; SQS receive/send/delete). */
  readonly response?: unknown;
}

/** Which requests need their response parsed. */
export function needsResponse(service: 'dynamodb' | 'sqs', operation: string): boolean {
  if (service === 'sqs') return ['ReceiveMessage', 'SendMessageBatch', 'DeleteMessageBatch', 'ChangeMessageVisibilityBatch'].includes(operation);
  return ['GetItem', 'Query', 'Scan', 'BatchGetItem'].includes(operation);
}

export const operationOf = (target: string | string[] | undefined): string => {
  const text = Array.isArray(target) ? (target[0] ?? '') : (target ?? '');
  return text.slice(text.lastIndexOf('.') + 1) || 'unknown';
};

const SQS_CHUNK_BYTES = 64 * 1024;

type Json = Record<string, unknown>;
const asObject = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export class ApiStats {
  private dynamo: Record<string, OperationStats> = {};
  private sqs: Record<string, OperationStats> = {};
  private tables: Record<string, TableStats> = {};

  reset(): void {
    this.dynamo = {};
    this.sqs = {};
    this.tables = {};
  }

  snapshot(): ApiStatsSnapshot {
    return structuredClone({ dynamodb: { operations: this.dynamo, tables: this.tables }, sqs: { operations: this.sqs } });
  }

  private table(name: string): TableStats {
    return (this.tables[name] ??= emptyTable());
  }

  /** One item write as dynalite applies it (PutItem, UpdateItem, DeleteItem, each item of BatchWriteItem). */
  countItemWrite(table: TableShape, before: Item | undefined, after: Item | undefined): void {
    if (!before && !after) return;
    const t = this.table(table.TableName);
    const sizeBefore = before ? itemSize(before) : 0;
    const sizeAfter = after ? itemSize(after) : 0;
    const size = Math.max(sizeBefore, sizeAfter);
    t.itemWrites++;
    t.itemBytes += size;
    t.maxItemBytes = Math.max(t.maxItemBytes, sizeAfter);
    t.wru += writeUnits(size);
    const stored = (bytes: number, present: boolean) => (present ? bytes + ITEM_STORAGE_OVERHEAD_BYTES : 0);
    t.storageDeltaBytes += stored(sizeAfter, after !== undefined) - stored(sizeBefore, before !== undefined);
    for (const w of indexWrites(table, before, after)) {
      const i = (t.indexWrites[w.index] ??= { writes: 0, wru: 0, bytes: 0 });
      i.writes += w.kind === 'replace' ? 2 : 1;
      i.wru += w.wru;
    }
    // Index storage: entries present before and after.
    for (const index of [...(table.GlobalSecondaryIndexes ?? []), ...(table.LocalSecondaryIndexes ?? [])]) {
      const keys = index.KeySchema.map((k) => k.AttributeName);
      const tableKeys = table.KeySchema.map((k) => k.AttributeName);
      const sizeOf = (item: Item | undefined) => (item && keys.every((k) => item[k] !== undefined) ? itemSize(indexItem(item, index, tableKeys)) + ITEM_STORAGE_OVERHEAD_BYTES : 0);
      const delta = sizeOf(after) - sizeOf(before);
      t.storageDeltaBytes += delta;
      const i = (t.indexWrites[index.IndexName] ??= { writes: 0, wru: 0, bytes: 0 });
      i.bytes += delta;
    }
  }

  countRequest(r: RequestRecord): void {
    const ops = r.service === 'dynamodb' ? this.dynamo : this.sqs;
    const op = (ops[r.operation] ??= emptyOperation());
    op.calls++;
    op.requestBytes += r.requestBytes;
    op.responseBytes += r.responseBytes;
    const ok = r.status >= 200 && r.status < 300;
    if (!ok) op.errors++;
    if (r.service === 'sqs') {
      op.billedRequests += Math.max(1, Math.ceil(Math.max(r.requestBytes, r.responseBytes) / SQS_CHUNK_BYTES));
      if (ok) this.countSqsMessages(r, op);
      return;
    }
    this.countDynamo(r, ok);
  }

  private countSqsMessages(r: RequestRecord, op: OperationStats): void {
    const response = asObject(r.response);
    if (r.operation === 'ReceiveMessage') {
      const n = asArray(response.Messages).length;
      op.messages += n;
      if (n === 0) op.empty++;
    } else if (r.operation === 'SendMessageBatch' || r.operation === 'DeleteMessageBatch' || r.operation === 'ChangeMessageVisibilityBatch') {
      op.messages += asArray(response.Successful).length;
    } else if (r.operation === 'SendMessage' || r.operation === 'DeleteMessage' || r.operation === 'ChangeMessageVisibility') {
      op.messages += 1;
    }
  }

  private countDynamo(r: RequestRecord, ok: boolean): void {
    const request = asObject(r.request);
    const tables = [...(typeof request.TableName === 'string' ? [request.TableName] : []), ...Object.keys(asObject(request.RequestItems))];
    for (const name of tables) {
      const t = this.table(name);
      t.calls[r.operation] = (t.calls[r.operation] ?? 0) + 1;
    }
    const response = asObject(r.response);
    if (!ok) {
      const type = String(response.__type ?? '');
      if (type.endsWith('ConditionalCheckFailedException') && typeof request.TableName === 'string') {
        const t = this.table(request.TableName);
        t.conditionalFailures++;
        t.wru += 1;
      }
      return;
    }
    const consistent = request.ConsistentRead === true;
    if (r.operation === 'GetItem' && typeof request.TableName === 'string') {
      const item = response.Item as Item | undefined;
      this.countRead(request.TableName, item ? [item] : [], consistent, 'each');
    } else if ((r.operation === 'Query' || r.operation === 'Scan') && typeof request.TableName === 'string') {
      this.countRead(request.TableName, asArray(response.Items) as Item[], consistent, 'sum');
    } else if (r.operation === 'BatchGetItem') {
      const requested = asObject(request.RequestItems);
      for (const [name, items] of Object.entries(asObject(response.Responses))) {
        this.countRead(name, asArray(items) as Item[], asObject(requested[name]).ConsistentRead === true, 'each');
      }
    }
  }

  private countRead(tableName: string, items: Item[], consistent: boolean, how: 'each' | 'sum'): void {
    const t = this.table(tableName);
    const sizes = items.map(itemSize);
    t.itemsRead += items.length;
    t.readBytes += sizes.reduce((a, b) => a + b, 0);
    if (how === 'sum' || sizes.length === 0) t.rru += readUnits(sizes.reduce((a, b) => a + b, 0), consistent);
    else for (const s of sizes) t.rru += readUnits(s, consistent);
  }
}
