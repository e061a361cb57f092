import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DELIVERY_STATES, type DeliveryRecord, type DeliveryState } from '../../lambdas/core/delivery-log';
import { healthColumn } from '../health-view';
import { listSubscriptionsIn } from '../commands/subscriptions';
import { outputOf, type Clients } from '../target';

/**
 * What the console reads beyond the commands: the tenants (a Scan of the subscriptions table's
 * keys; the table has no list of tenants), per-tenant summaries and the chart's buckets. Every
 * read goes through the adapters the CLI uses; this file only adds them up.
 */

/** Most subscription items the overview scans for tenant ids. */
export const MAX_SCANNED_ITEMS = 10_000;
/** Most tenants the overview summarises (each costs a few queries). */
export const MAX_TENANTS_SHOWN = 50;
/** Deliveries counted per tenant for "the last hour". */
export const MAX_COUNTED = 1000;

export async function tenantIds(c: Clients): Promise<{ ids: string[]; truncated: boolean }> {
  const ids = new Set<string>();
  let scanned = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const out = await c.db.send(
      new ScanCommand({
        TableName: outputOf(c.target, 'SubscriptionsTableName'),
        ProjectionExpression: '#t',
        ExpressionAttributeNames: { '#t': 'tenantId' },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) if (typeof item.tenantId === 'string') ids.add(item.tenantId);
    scanned += out.Items?.length ?? 0;
    start = out.LastEvaluatedKey;
  } while (start && scanned < MAX_SCANNED_ITEMS);
  return { ids: [...ids].sort(), truncated: start !== undefined };
}

export interface TenantSummary {
  readonly tenantId: string;
  readonly states: Readonly<Record<string, number>>;
  readonly invalid: number;
  /** By health column word: healthy, slow, failing, open, half-open. */
  readonly health: Readonly<Record<string, number>>;
  readonly lastHour: Readonly<Partial<Record<DeliveryState, number>>>;
  /** More deliveries in the last hour than were counted. */
  readonly lastHourTruncated: boolean;
}

export async function tenantSummary(c: Clients, tenantId: string, now: number): Promise<TenantSummary> {
  const [listed, page] = await Promise.all([
    listSubscriptionsIn(c, tenantId),
    c.target.outputs.DeliveryLogTableName ? c.deliveryLog().list({ tenantId, since: new Date(now - 3_600_000), limit: MAX_COUNTED }) : undefined,
  ]);
  const states: Record<string, number> = {};
  const health: Record<string, number> = {};
  for (const s of listed.subscriptions) {
    states[s.state] = (states[s.state] ?? 0) + 1;
    const h = listed.health(s.subscriptionId);
    if (h) {
      const word = healthColumn(h, s).split(' ')[0]!;
      health[word] = (health[word] ?? 0) + 1;
    }
  }
  const lastHour: Partial<Record<DeliveryState, number>> = {};
  for (const r of page?.records ?? []) lastHour[r.state] = (lastHour[r.state] ?? 0) + 1;
  return { tenantId, states, invalid: listed.invalid.length, health, lastHour, lastHourTruncated: page?.next != null };
}

/** Runs `fn` over `items`, at most `width` at a time, keeping the order. */
export async function inBatches<T, R>(items: readonly T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) out.push(...(await Promise.all(items.slice(i, i + width).map(fn))));
  return out;
}

export const CHART_RANGES = {
  '1h': { spanMs: 3_600_000, bucketMs: 60_000 },
  '24h': { spanMs: 86_400_000, bucketMs: 1_800_000 },
  '7d': { spanMs: 7 * 86_400_000, bucketMs: 3 * 3_600_000 },
} as const;
export type ChartRange = keyof typeof CHART_RANGES;

export function isChartRange(value: string | undefined): value is ChartRange {
  return value !== undefined && Object.prototype.hasOwnProperty.call(CHART_RANGES, value);
}

export interface ChartData {
  readonly range: ChartRange;
  /** Start of each bucket (ISO). */
  readonly buckets: string[];
  /** Deliveries created in the bucket. */
  readonly deliveries: number[];
  /** Attempts that got a 2xx, by the time of the attempt. */
  readonly succeeded: number[];
  /** Attempts that failed (non-2xx, timeout, connection, TLS), by the time of the attempt. */
  readonly failed: number[];
  /** More deliveries in the range than were read. */
  readonly truncated: boolean;
}

/** Deliveries and attempts of one subscription per time bucket, newest bucket last. */
export async function chartData(c: Clients, tenantId: string, subscriptionId: string, range: ChartRange, now: number): Promise<ChartData> {
  const { spanMs, bucketMs } = CHART_RANGES[range];
  const end = Math.ceil(now / bucketMs) * bucketMs;
  const start = end - spanMs;
  const count = spanMs / bucketMs;
  const page = await c.deliveryLog().list({ tenantId, subscriptionId, since: new Date(start), limit: MAX_COUNTED });
  const zeros = () => Array.from({ length: count }, () => 0);
  const data = { deliveries: zeros(), succeeded: zeros(), failed: zeros() };
  const bucketOf = (iso: string) => {
    const i = Math.floor((Date.parse(iso) - start) / bucketMs);
    return i >= 0 && i < count ? i : undefined;
  };
  const add = (series: number[], iso: string) => {
    const i = bucketOf(iso);
    if (i !== undefined) series[i]! += 1;
  };
  for (const r of page.records as DeliveryRecord[]) {
    add(data.deliveries, r.createdAt);
    for (const a of r.attempts) add(a.statusCode !== null && a.statusCode >= 200 && a.statusCode < 300 ? data.succeeded : data.failed, a.at);
  }
  return { range, buckets: Array.from({ length: count }, (_, i) => new Date(start + i * bucketMs).toISOString()), ...data, truncated: page.next !== null };
}

export const SHOWN_STATES = DELIVERY_STATES;
