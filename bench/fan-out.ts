/**
 * Bench 3 — the fan-out core. `fanOut` with in-memory ports (the subscription lookup is already
 * in memory, enqueue accepts at once) for one event and 1, 10, 100, 1000 matching
 * subscriptions. Every round produces the same number of jobs, so the µs/job figures compare
 * directly with the baseline: JSON.stringify of as many job-sized objects, the least any
 * fan-out must do per job (the SQS adapter serialises each job).
 */
import { EVENT_NAMES } from '../lambdas/core/catalog';
import { parseBusEvent } from '../lambdas/core/events';
import { fanOut, type FanOutPorts, type SubscriptionLookup } from '../lambdas/core/route-event';
import type { DeliveryJob } from '../lambdas/core/job';
import { noMetrics, silentLog } from '../lambdas/core/ports';
import { newSecret, parseSubscription, type Subscription } from '../lambdas/core/subscriptions';
import { fmt, get, sink, timeCases, type Case, type Section } from './lib/timing';

const SUBSCRIPTION_COUNTS = [1, 10, 100, 1000] as const;
/** Jobs produced per round by every case (events per round = JOBS_PER_ROUND / subscriptions). */
const JOBS_PER_ROUND = 20_000;
const EVENT = 'return_order.status.changed';
const TENANT = 'acme-shop';

function busEvent(i: number) {
  return {
    version: '0',
    id: `0d4c5b7e-bench-${i}`,
    'detail-type': EVENT,
    source: 'returns.cloud',
    account: '123456789012',
    time: '2026-11-28T10:00:00Z',
    region: 'eu-central-1',
    resources: [],
    detail: {
      tenantId: TENANT,
      oldStatus: 'approved',
      newStatus: 'option_selected',
      returnOrder: { number: String(100000 + i), uuid: `90aabf83-d23c-4792-b483-${String(i).padStart(12, '0')}`, externalId: null },
    },
  };
}

/** `n` active subscriptions that all match the event, by the three ways a subscription can. */
function matchingSubscriptions(n: number): Subscription[] {
  return Array.from({ length: n }, (_, i) =>
    parseSubscription({
      tenantId: TENANT,
      subscriptionId: `sub_${i.toString(16).padStart(24, '0')}`,
      url: `https://hooks.example.com/statushooks/${i}`,
      events: i % 3 === 0 ? ['*'] : i % 3 === 1 ? [EVENT, EVENT_NAMES[1]] : [EVENT],
      statusFilter: i % 3 === 2 ? ['option_selected', 'received'] : undefined,
      secret: newSecret(),
      state: 'active',
      createdAt: '2026-01-01T00:00:00Z',
      updatedAt: '2026-01-01T00:00:00Z',
    }),
  );
}

function ports(lookup: SubscriptionLookup, queued: { jobs: number; last?: readonly DeliveryJob[] }): FanOutPorts {
  return {
    subscriptionsOf: async () => lookup,
    enqueue: async (jobs) => {
      queued.jobs += jobs.length;
      queued.last = jobs;
    },
    park: async (record) => {
      throw new Error(`bench event was rejected: ${record.reason}`);
    },
    now: () => new Date('2026-11-28T10:00:01Z'),
    log: silentLog,
    metrics: noMetrics,
  };
}

export async function benchFanOut(): Promise<Section> {
  const queued: { jobs: number; last?: readonly DeliveryJob[] } = { jobs: 0 };
  const cases: Case[] = [];
  for (const n of SUBSCRIPTION_COUNTS) {
    const p = ports({ subscriptions: matchingSubscriptions(n), invalid: [] }, queued);
    const events = Array.from({ length: JOBS_PER_ROUND / n }, (_, i) => busEvent(i));
    // Correctness first: one event must yield exactly n jobs.
    const check = await fanOut(events[0], p);
    if (check.status !== 'queued' || check.deliveryIds.length !== n) throw new Error(`fan-out to ${n} subscriptions produced ${JSON.stringify(check).slice(0, 200)}`);
    cases.push({
      name: `fanOut × ${n}`,
      ops: JOBS_PER_ROUND,
      run: async () => {
        for (const e of events) await fanOut(e, p);
      },
    });
  }

  // Baseline: stringify JOBS_PER_ROUND real jobs (taken from the fan-out to 1000 subscriptions).
  const jobs = queued.last ?? [];
  if (jobs.length === 0) throw new Error('no jobs to stringify');
  cases.push({
    name: 'JSON.stringify(job)',
    ops: JOBS_PER_ROUND,
    run: () => {
      let total = 0;
      for (let i = 0; i < JOBS_PER_ROUND; i++) total += JSON.stringify(jobs[i % jobs.length]).length;
      sink.value += total;
    },
  });

  // Information: the per-event validation alone (envelope + detail schema), which every event pays once.
  const parseEvents = Array.from({ length: 5000 }, (_, i) => busEvent(i));
  cases.push({
    name: 'parseBusEvent',
    ops: parseEvents.length,
    run: () => {
      for (const e of parseEvents) sink.value += parseBusEvent(e).eventId.length;
    },
  });

  const timings = await timeCases(cases, { warmup: 1, rounds: 5 });
  const base = get(timings, 'JSON.stringify(job)');
  const parse = get(timings, 'parseBusEvent');
  return {
    title: `3. Fan-out core — one event to N matching subscriptions, in-memory ports, ${fmt.int(JOBS_PER_ROUND)} jobs per round`,
    reading: 'ratio = µs per job ÷ µs of JSON.stringify of one job (what validation + matching + delivery-id hashing + payload cost, in stringifies)',
    rows: [
      { case: 'JSON.stringify(job) (baseline)', value: fmt.perSec(base.opsPerSec, 'job'), perOp: fmt.us(base.usPerOp), ratio: '1.00× (base)', note: `job ≈ ${JSON.stringify(jobs[0]).length} B` },
      ...SUBSCRIPTION_COUNTS.map((n) => {
        const t = get(timings, `fanOut × ${n}`);
        const eventsPerSec = t.opsPerSec / n;
        return {
          case: `fanOut, ${n} subscription${n === 1 ? '' : 's'}`,
          value: fmt.perSec(eventsPerSec, 'event'),
          perOp: `${fmt.us(t.usPerOp)}/job`,
          ratio: fmt.ratio(t.usPerOp / base.usPerOp),
          note: `${fmt.int(t.opsPerSec)} jobs/s, ${fmt.us(t.usPerOp * n)}/event`,
        };
      }),
      { case: 'parseBusEvent only (per event)', value: fmt.perSec(parse.opsPerSec, 'event'), perOp: `${fmt.us(parse.usPerOp)}/event`, ratio: fmt.ratio(parse.usPerOp / base.usPerOp), note: 'the fixed per-event part of the rows above' },
    ],
  };
}
