/**
 * `npm run cost` on a small load, once per delivery-log mode: the command counts the writes the
 * real path makes (the delivery log's 4 write units per delivery with `all`, none with `failures`
 * when every delivery succeeds at once) and prices them, so the README's cost table stays a
 * measurement of the code as it is. Small loads: this is a check of what is counted, not a bench.
 */
import { runCost, type CostOptions } from '../../bench/cost';

jest.setTimeout(120_000);

interface Run {
  readonly subscriptions: number;
  readonly deliveries: number;
  readonly events: number;
  readonly total: number;
  readonly perEvent: Record<string, number>;
  readonly perMillion: Record<string, number>;
  readonly api: { dynamodb: { tables: Record<string, { calls: Record<string, number>; wru: number }> } };
}
interface Report {
  readonly shapes: Record<'full' | 'trickle', { runs: Run[]; perExtraSubscriber: Record<string, Record<string, number>> }>;
}

async function cost(deliveryLog: CostOptions['deliveryLog']): Promise<Report> {
  const lines: string[] = [];
  await runCost(
    { events: 10, trickleEvents: 3, latencyMs: 100, responseBytes: 2, cpuScale: undefined, subscriptions: [1, 2], platformLogBytes: 300, xraySampledFull: 0.05, environments: 2, deliveryLog, failureShare: 0.02, json: true },
    (line) => lines.push(line),
  );
  return JSON.parse(lines.join('\n')) as Report;
}

const logTable = (run: Run) => Object.entries(run.api.dynamodb.tables).find(([name]) => name.startsWith('DeliveryLogTable'))?.[1];

let all: Report;
let failures: Report;

beforeAll(async () => {
  // Side by side: each run waits for its pipeline to go quiet, and only counts are checked here.
  [all, failures] = await Promise.all([cost('all'), cost('failures')]);
}, 240_000);

test('with deliveryLog = all, every delivery costs the log 4 write units: a batched pending put, its two index entries, and the attempt', () => {
  for (const shape of ['full', 'trickle'] as const) {
    for (const run of all.shapes[shape].runs) {
      expect(run.deliveries).toBe(run.events * run.subscriptions);
      const log = logTable(run)!;
      expect(log.wru).toBe(2 * run.deliveries);
      // One BatchGetItem (records an earlier fan-out left) and one BatchWriteItem per event (all its
      // deliveries), one UpdateItem per delivery.
      expect(log.calls).toEqual({ BatchGetItem: run.events, BatchWriteItem: run.events, UpdateItem: run.deliveries });
      expect(run.perEvent['DynamoDB WRU indexes']).toBe(2 * run.subscriptions);
    }
  }
});

test('with deliveryLog = failures and every delivery succeeding, the log is not written, and the same load costs less', () => {
  for (const shape of ['full', 'trickle'] as const) {
    failures.shapes[shape].runs.forEach((run, i) => {
      expect(logTable(run)?.wru ?? 0).toBe(0);
      expect(run.perMillion['DynamoDB writes (table)']).toBe(0);
      expect(run.perMillion['DynamoDB storage + PITR']).toBe(0);
      const same = all.shapes[shape].runs[i]!;
      expect(run.deliveries).toBe(same.deliveries);
      expect(run.total).toBeLessThan(same.total);
    });
  }
  // An extra subscriber adds the log's writes and storage with `all`, nothing of the log with `failures`.
  expect(all.shapes.full.perExtraSubscriber['2vs1']!['DynamoDB writes (table)']).toBeGreaterThan(0);
  expect(failures.shapes.full.perExtraSubscriber['2vs1']!['DynamoDB writes (table)']).toBe(0);
});
