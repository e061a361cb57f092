/**
 * Bench 5 — memory. Heap retained by the delivery function's subscription cache (`TtlCache`,
 * keyed `tenantId\nsubscriptionId` as in lambdas/delivery/handler.ts) holding 10,000 parsed
 * subscriptions, against a plain Map of the same 10,000 parsed subscriptions under the same
 * keys. Needs `global.gc` (node --expose-gc): bench/run.ts re-spawns itself with it.
 *
 * Each structure is built in a settled heap (gc, measure, build, gc, measure); what it retains is
 * the difference. Every build JSON.parses the same item texts (as the SDK unmarshals a response)
 * and parses them with the subscription schema, so the objects AND their strings are new and
 * counted; the texts are held throughout and are not.
 */
import { TtlCache } from '../lambdas/core/cache';
import { DEFAULTS } from '../lambdas/core/config';
import { EVENT_NAMES } from '../lambdas/core/catalog';
import { newSecret, parseSubscription, type Subscription } from '../lambdas/core/subscriptions';
import { fmt, median, type Section } from './lib/timing';

/** Exactly the cache's default capacity (TtlCache maxEntries = 10,000). */
const ENTRIES = 10_000;
const ROUNDS = 3;

function itemTexts(): string[] {
  return Array.from({ length: ENTRIES }, (_, i) => {
    const rotating = i % 10 === 0;
    return JSON.stringify({
      tenantId: `tenant-${i % 250}`,
      subscriptionId: `sub_${(i * 2654435761).toString(16).padStart(24, '0').slice(-24)}`,
      url: `https://hooks.tenant-${i % 250}.example.com/statushooks/${i}`,
      events: i % 2 === 0 ? ['*'] : [EVENT_NAMES[i % EVENT_NAMES.length]],
      ...(i % 4 === 0 ? { statusFilter: ['delivered', 'received'] } : {}),
      secret: newSecret(),
      ...(rotating ? { previousSecret: newSecret(), previousSecretExpiresAt: '2026-12-01T00:00:00Z' } : {}),
      state: 'active',
      description: `Order status webhook #${i}`,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-06-01T12:00:00.000Z',
    });
  });
}

const keyOf = (s: Subscription) => `${s.tenantId}\n${s.subscriptionId}`;
const parsed = (text: string) => parseSubscription(JSON.parse(text));

function settledHeap(gc: () => void): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Heap retained by whatever `build` returns (kept alive until measured). */
async function retainedBy(gc: () => void, build: () => Promise<unknown>): Promise<number> {
  const before = settledHeap(gc);
  let held: unknown = await build();
  const after = settledHeap(gc);
  if (held === undefined) throw new Error('nothing was built');
  held = undefined;
  return after - before;
}

export async function benchMemory(gc: (() => void) | undefined): Promise<Section> {
  const title = `5. Memory — heap retained by ${fmt.int(ENTRIES)} parsed subscriptions`;
  if (!gc) {
    return { title, reading: 'skipped: global.gc is not available (run with node --expose-gc)', rows: [] };
  }
  const texts = itemTexts();
  const variants: Record<'array' | 'map' | 'cache', () => Promise<unknown>> = {
    // Payload only: the parsed objects, no keys, no index.
    array: async () => texts.map(parsed),
    map: async () => {
      const map = new Map<string, Subscription>();
      for (const text of texts) {
        const s = parsed(text);
        map.set(keyOf(s), s);
      }
      return map;
    },
    cache: async () => {
      const cache = new TtlCache<Subscription | undefined>(DEFAULTS.subscriptionCacheTtlMs);
      const keys: string[] = [];
      for (const text of texts) {
        const s = parsed(text);
        keys.push(keyOf(s));
        await cache.get(keys[keys.length - 1]!, async () => s);
      }
      // Every entry must still be there (the cache clears itself when it reaches its capacity).
      let misses = 0;
      for (const key of keys) await cache.get(key, async () => void misses++);
      if (misses > 0) throw new Error(`the cache lost ${misses} of ${ENTRIES} entries`);
      return cache;
    },
  };
  const samples: Record<keyof typeof variants, number[]> = { array: [], map: [], cache: [] };
  await retainedBy(gc, variants.cache); // warm-up: JIT and hidden classes, not measured
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of ['map', 'cache', 'array'] as const) samples[name].push(await retainedBy(gc, variants[name]));
  }
  const array = median(samples.array);
  const map = median(samples.map);
  const cache = median(samples.cache);
  const per = (n: number) => `${fmt.int(n / ENTRIES)} B/entry`;
  return {
    title,
    reading: 'ratio = heap retained ÷ heap retained by the plain Map (>1 = more memory); note = index overhead beyond the parsed objects',
    rows: [
      { case: 'Map<string, Subscription> (baseline)', value: fmt.bytes(map), perOp: per(map), ratio: '1.00× (base)', note: `index: ${per(map - array)} (keys + table)` },
      { case: 'TtlCache<Subscription> (delivery λ)', value: fmt.bytes(cache), perOp: per(cache), ratio: fmt.ratio(cache / map), note: `index: ${per(cache - array)} (keys + table + {promise, expires}), ${fmt.ratio((cache - array) / (map - array))} the Map's` },
      { case: 'parsed objects alone (array)', value: fmt.bytes(array), perOp: per(array), ratio: fmt.ratio(array / map), note: 'the payload both structures hold' },
    ],
  };
}
