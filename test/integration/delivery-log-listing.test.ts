/**
 * `DynamoDeliveryLog.list()` against a real DynamoDB emulator (dynalite, in-process on a loopback
 * port), with the table and indexes the stack deploys: a listing returns only the queried tenant's
 * records even when two tenants share an index partition key, and a page has a cursor only when
 * more records match.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDeliveryLogTable, type Dynalite, startDynalite } from '../dynalite';
import { DynamoDeliveryLog, entityKey, type DeliveryQuery } from '../../lambdas/adapters/delivery-log-store';
import type { DeliveryFacts, DeliveryRecord, DeliveryState } from '../../lambdas/core/delivery-log';

const TABLE = 'DeliveryLog';
let dynamo: Dynalite;
let client: DynamoDBClient;
let log: DynamoDeliveryLog;

beforeAll(async () => {
  dynamo = await startDynalite();
  client = dynamo.client;
  await createDeliveryLogTable(client, TABLE);
  log = new DynamoDeliveryLog(DynamoDBDocumentClient.from(client), TABLE, 30);
});

afterAll(() => dynamo?.close());

/** Every record gets its own creation time, one second after the previous one. */
let clock = Date.parse('2026-12-04T10:00:00.000Z');
let serial = 0;

interface Spec {
  readonly subscriptionId?: string;
  readonly entityUuid?: string;
  readonly entityNumber?: string;
  readonly state?: DeliveryState;
}

/** Writes records through the store's own write path; returns their ids, newest first. */
async function seed(tenantId: string, specs: readonly Spec[]): Promise<string[]> {
  const ids: string[] = [];
  for (const spec of specs) {
    const n = ++serial;
    const facts: DeliveryFacts = {
      tenantId,
      deliveryId: `msg_${String(n).padStart(6, '0')}`,
      subscriptionId: spec.subscriptionId ?? 'sub_a',
      event: 'return_order.status.changed',
      eventId: `evt-${n}`,
      entityUuid: spec.entityUuid ?? `entity-${n}`,
      entityNumber: spec.entityNumber ?? null,
      body: '{}',
      occurredAt: new Date(clock).toISOString(),
    };
    const at = new Date((clock += 1000)).toISOString();
    await log.logQueued([facts], at);
    if (spec.state && spec.state !== 'pending') await log.logUpdate({ facts, state: spec.state, at: new Date(clock + 500).toISOString() });
    ids.push(facts.deliveryId);
  }
  return ids.reverse();
}

/** Follows the cursors from the first page to the last (at most 20 pages). */
async function allPages(query: Omit<DeliveryQuery, 'cursor'>): Promise<Array<{ ids: string[]; next: string | null; records: readonly DeliveryRecord[] }>> {
  const pages: Array<{ ids: string[]; next: string | null; records: readonly DeliveryRecord[] }> = [];
  let cursor: string | undefined;
  do {
    const page = await log.list({ ...query, cursor });
    pages.push({ ids: page.records.map((r) => r.deliveryId), next: page.next, records: page.records });
    cursor = page.next ?? undefined;
  } while (cursor && pages.length < 20);
  return pages;
}

/** Pages of `limit` records, each but the last with a cursor, together exactly `expected`. */
async function expectPaged(query: Omit<DeliveryQuery, 'cursor'>, expected: readonly string[]) {
  const pages = await allPages(query);
  expect(pages.map((p) => p.ids).flat()).toEqual(expected);
  expect(pages.map((p) => p.ids.length)).toEqual(Array.from({ length: Math.max(1, Math.ceil(expected.length / query.limit)) }, (_, i) => Math.min(query.limit, expected.length - i * query.limit)));
  expect(pages.map((p) => p.next !== null)).toEqual(pages.map((_, i) => i < pages.length - 1));
  return pages;
}

describe('two tenants whose entity keys collide (tenant ids and entity uuids may contain #)', () => {
  const OWN = 'globex';
  const OTHER = 'globex#eu';
  let own: { all: string[]; shared: string[]; delivered: string[]; parked: string[] };
  let other: { all: string[]; shared: string[]; delivered: string[]; parked: string[] };

  beforeAll(async () => {
    // The same byEntity partition key: 'globex' + 'eu#order-42' and 'globex#eu' + 'order-42'.
    expect(entityKey(OWN, 'eu#order-42')).toBe(entityKey(OTHER, 'order-42'));
    // Interleaved in time, so each tenant's records sit between the other's in the shared partition.
    const specs = (entityUuid: string, own: string): Spec[] => [
      { entityUuid, subscriptionId: own, state: 'delivered' },
      { entityUuid, subscriptionId: 'sub_shared', state: 'parked' },
      { entityUuid, subscriptionId: 'sub_shared', state: 'delivered' },
      { entityUuid, subscriptionId: own, state: 'retrying' },
    ];
    const ownIds: string[] = [];
    const otherIds: string[] = [];
    for (const [i, spec] of specs('eu#order-42', 'sub_globex').entries()) {
      ownIds.unshift(...(await seed(OWN, [spec])));
      otherIds.unshift(...(await seed(OTHER, [specs('order-42', 'sub_globex_eu')[i]!])));
    }
    // ids newest first: index 0 is the last spec (retrying), 3 the first (delivered).
    const pick = (ids: string[], ...at: number[]) => at.map((i) => ids[i]!);
    own = { all: ownIds, shared: pick(ownIds, 1, 2), delivered: pick(ownIds, 1, 3), parked: pick(ownIds, 2) };
    other = { all: otherIds, shared: pick(otherIds, 1, 2), delivered: pick(otherIds, 1, 3), parked: pick(otherIds, 2) };
  });

  const ids = async (query: DeliveryQuery) => {
    const page = await log.list(query);
    for (const r of page.records) expect(r.tenantId).toBe(query.tenantId);
    return page.records.map((r) => r.deliveryId);
  };

  it('listing by entity returns only the queried tenant records, for each tenant', async () => {
    expect(await ids({ tenantId: OWN, entityUuid: 'eu#order-42', limit: 100 })).toEqual(own.all);
    expect(await ids({ tenantId: OTHER, entityUuid: 'order-42', limit: 100 })).toEqual(other.all);
  });

  it('also with a subscription filter, even one whose id both tenants have', async () => {
    expect(await ids({ tenantId: OWN, entityUuid: 'eu#order-42', subscriptionId: 'sub_shared', limit: 100 })).toEqual(own.shared);
    expect(await ids({ tenantId: OTHER, entityUuid: 'order-42', subscriptionId: 'sub_shared', limit: 100 })).toEqual(other.shared);
    // The other tenant's subscription id finds nothing of it.
    expect(await ids({ tenantId: OWN, entityUuid: 'eu#order-42', subscriptionId: 'sub_globex_eu', limit: 100 })).toEqual([]);
  });

  it('also with a state filter, checked on the records (delivered) or read from the state index (parked)', async () => {
    expect(await ids({ tenantId: OWN, entityUuid: 'eu#order-42', state: 'delivered', limit: 100 })).toEqual(own.delivered);
    expect(await ids({ tenantId: OTHER, entityUuid: 'order-42', state: 'delivered', limit: 100 })).toEqual(other.delivered);
    expect(await ids({ tenantId: OWN, entityUuid: 'eu#order-42', state: 'parked', limit: 100 })).toEqual(own.parked);
    expect(await ids({ tenantId: OTHER, entityUuid: 'order-42', state: 'parked', subscriptionId: 'sub_shared', limit: 100 })).toEqual(other.parked);
    expect(await ids({ tenantId: OWN, entityUuid: 'eu#order-42', state: 'delivered', subscriptionId: 'sub_shared', limit: 100 })).toEqual([own.shared[0]]);
  });

  it('page by page too: every page holds only the tenant records, and the last one has no cursor', async () => {
    await expectPaged({ tenantId: OWN, entityUuid: 'eu#order-42', limit: 1 }, own.all);
    await expectPaged({ tenantId: OTHER, entityUuid: 'order-42', limit: 3 }, other.all);
    await expectPaged({ tenantId: OWN, entityUuid: 'eu#order-42', state: 'delivered', limit: 1 }, own.delivered);
  });

  it('the tenant and state indexes keep the tenants apart by their keys (a state never contains #)', async () => {
    expect(await ids({ tenantId: OWN, limit: 100 })).toEqual(own.all);
    expect(await ids({ tenantId: OWN, state: 'parked', limit: 100 })).toEqual(own.parked);
    expect(await ids({ tenantId: OTHER, state: 'retrying', limit: 100 })).toEqual([other.all[0]]);
  });
});

describe('a page has a cursor only when more records match', () => {
  it('exactly limit records: one page, no cursor', async () => {
    const all = await seed('exact-shop', Array.from({ length: 24 }, () => ({})));
    const page = await log.list({ tenantId: 'exact-shop', limit: 24 });
    expect(page.records.map((r) => r.deliveryId)).toEqual(all);
    expect(page.next).toBeNull();
    // The 24 index items and records (the query for one more found the partition's end).
    expect(page.itemsRead).toBe(24 + 24);
    // One more than the page holds reads as before: a cursor, then the last record alone.
    await expectPaged({ tenantId: 'exact-shop', limit: 23 }, all);
    await expectPaged({ tenantId: 'exact-shop', limit: 25 }, all);
  });

  it('k × limit records: k full pages, the last without a cursor, together the whole list newest first', async () => {
    const all = await seed('pages-shop', Array.from({ length: 24 }, () => ({})));
    const pages = await expectPaged({ tenantId: 'pages-shop', limit: 8 }, all);
    expect(pages).toHaveLength(3);
    // A page reads one index item and one record beyond itself: they tell that more follow.
    expect((await log.list({ tenantId: 'pages-shop', limit: 8 })).itemsRead).toBe(9 + 9);
    const created = pages.flatMap((p) => p.records.map((r) => r.createdAt));
    expect([...created].sort().reverse()).toEqual(created);
    await expectPaged({ tenantId: 'pages-shop', limit: 6 }, all);
    await expectPaged({ tenantId: 'pages-shop', limit: 12 }, all);
  });

  describe('with a filter', () => {
    const tenantId = 'filter-shop';
    let bySub: string[];
    let byEntity: string[];
    let delivered: string[];
    let parked: string[];

    beforeAll(async () => {
      // 36 records: a third of them sub_b, half parked, every fourth about order-1; the oldest record
      // and the last of each kind are followed (further back in time) by records that do not match.
      const specs: Spec[] = Array.from({ length: 36 }, (_, i) => ({
        subscriptionId: i % 3 === 0 ? 'sub_b' : 'sub_a',
        state: i % 2 === 0 ? 'parked' : 'delivered',
        entityUuid: i % 4 === 1 ? 'order-1' : `order-x${i}`,
      }));
      const ids = (await seed(tenantId, specs)).reverse();
      const where = (pick: (s: Spec) => boolean) => ids.filter((_, i) => pick(specs[i]!)).reverse();
      bySub = where((s) => s.subscriptionId === 'sub_a');
      byEntity = where((s) => s.entityUuid === 'order-1');
      delivered = where((s) => s.state === 'delivered');
      parked = where((s) => s.state === 'parked');
      expect([bySub.length, byEntity.length, delivered.length, parked.length]).toEqual([24, 9, 18, 18]);
    });

    it.each([
      ['subscription', { subscriptionId: 'sub_a' }, () => bySub, [24, 8, 12]],
      ['entity', { entityUuid: 'order-1' }, () => byEntity, [9, 3]],
      ['state checked on the records (delivered)', { state: 'delivered' as const }, () => delivered, [18, 6, 9]],
      ['state read from its index (parked)', { state: 'parked' as const }, () => parked, [18, 6, 9]],
    ])('%s: exactly limit matches, and k × limit matches, end with a page without a cursor', async (_name, filter, expected, limits) => {
      for (const limit of limits) await expectPaged({ tenantId, ...filter, limit }, expected());
    });

    it('a full page followed by one more match, far behind records that do not match, has a cursor to it', async () => {
      const ids = await seed('far-shop', [{ subscriptionId: 'sub_a' }, ...Array.from({ length: 40 }, () => ({ subscriptionId: 'sub_b' })), ...Array.from({ length: 5 }, () => ({ subscriptionId: 'sub_a' }))]);
      const matches = [...ids.slice(0, 5), ids[ids.length - 1]!];
      const pages = await expectPaged({ tenantId: 'far-shop', subscriptionId: 'sub_a', limit: 5 }, matches);
      expect(pages.map((p) => p.ids.length)).toEqual([5, 1]);
      // Index items until the sixth match (the whole partition here), but only the 6 records.
      expect((await log.list({ tenantId: 'far-shop', subscriptionId: 'sub_a', limit: 5 })).itemsRead).toBe(46 + 6);
      // A page of limit matches followed only by records that do not match: no cursor.
      const last = await log.list({ tenantId: 'far-shop', subscriptionId: 'sub_a', limit: 6 });
      expect(last.records.map((r) => r.deliveryId)).toEqual(matches);
      expect(last.next).toBeNull();
    });
  });
});

describe('search by entity number (on the records: no index holds it)', () => {
  it('finds exactly the records of that number, newest first, with the other filters; a read limit pages the search on', async () => {
    const specs: Spec[] = Array.from({ length: 240 }, (_, i) => ({ entityNumber: i % 60 === 7 ? '100004' : `R-${i}`, subscriptionId: i % 2 === 0 ? 'sub_a' : 'sub_b' }));
    const ids = await seed('number-shop', specs);
    // seed returns newest first; specs are oldest first.
    const numberOf = new Map(ids.map((id, i) => [id, specs[specs.length - 1 - i]!]));
    const wanted = ids.filter((id) => numberOf.get(id)!.entityNumber === '100004');
    expect(wanted).toHaveLength(4);

    // Without a read limit: one page with every match.
    const all = await log.list({ tenantId: 'number-shop', entityNumber: '100004', limit: 10 });
    expect(all.records.map((r) => r.deliveryId)).toEqual(wanted);
    expect(all.next).toBeNull();
    expect(all.readLimitReached).toBeUndefined();
    // With a subscription filter (on the index) as well.
    const subA = await log.list({ tenantId: 'number-shop', entityNumber: '100004', subscriptionId: 'sub_b', limit: 10 });
    expect(subA.records.map((r) => r.deliveryId)).toEqual(wanted.filter((id) => numberOf.get(id)!.subscriptionId === 'sub_b'));
    // Another tenant's records of the same number are not found.
    await seed('other-number-shop', [{ entityNumber: '100004' }]);
    expect((await log.list({ tenantId: 'number-shop', entityNumber: '100004', limit: 10 })).records.map((r) => r.deliveryId)).toEqual(wanted);

    // A read limit of about 100 records a page: the search stops, says so, and its cursor goes on from there.
    const found: string[] = [];
    let cursor: string | undefined;
    let stops = 0;
    for (let pages = 0; pages < 10; pages++) {
      const page = await log.list({ tenantId: 'number-shop', entityNumber: '100004', limit: 10, maxRecordsRead: 100, cursor });
      found.push(...page.records.map((r) => r.deliveryId));
      if (page.readLimitReached) stops++;
      if (page.next === null) break;
      cursor = page.next;
    }
    expect(found).toEqual(wanted);
    expect(stops).toBeGreaterThanOrEqual(2);
  });
});
