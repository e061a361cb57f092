/**
 * Faults of the AWS dependencies: DynamoDB or SQS unavailable for a while (connections refused,
 * data kept). No event that PutEvents accepted may be lost: each is delivered after recovery or
 * parked in a dead-letter queue where an operator sees it.
 */
import type { Message } from '@aws-sdk/client-sqs';
import { EVENT_NAMES } from '../../lambdas/core/catalog';
import { type Answer, type Harness, Receiver, type StatusChangeInput, drain, putChanges, sleep, pipelineSuite, subscribe, waitFor, waitForQuiet } from './helpers';

jest.setTimeout(90_000);

let h: Harness;

// No subscription cache: every fan-out and every delivery reads DynamoDB, so an outage is felt.
const { receivers } = pipelineSuite({ retrySchedule: [1, 1, 1, 1], maxAttempts: 5, context: { subscriptionCacheTtlMs: '0' } }, (harness) => (h = harness));

interface Accounting {
  delivered: Set<string>;
  fanOutDlq: Set<string>;
  deliveryDlq: Set<string>;
  missing: string[];
}

/** Where each accepted event ended up, by event id (an event may show up in more than one place). */
class Ledger {
  private readonly fanOutDlq = new Set<string>();
  private readonly deliveryDlq = new Set<string>();
  readonly parkedRecords: unknown[] = [];

  constructor(
    private readonly h: Harness,
    private readonly receiver: Receiver,
    private readonly eventIdByUuid: Map<string, string>,
  ) {}

  async account(): Promise<Accounting> {
    for (const m of await drain(this.h, this.h.runtime.outputs.FanOutDlqUrl!, 50)) this.noteFanOut(m);
    for (const m of await drain(this.h, this.h.runtime.outputs.DeliveryDlqUrl!, 50)) this.deliveryDlq.add((JSON.parse(m.Body!) as { eventId: string }).eventId);
    const delivered = new Set<string>();
    for (const request of this.receiver.requests) {
      const body = JSON.parse(request.body) as Record<string, { uuid?: string }>;
      const uuid = Object.values(body).find((v) => typeof v === 'object' && v !== null)?.uuid;
      const id = uuid ? this.eventIdByUuid.get(uuid) : undefined;
      if (id) delivered.add(id);
    }
    const missing = [...this.eventIdByUuid.values()].filter((id) => !delivered.has(id) && !this.fanOutDlq.has(id) && !this.deliveryDlq.has(id));
    return { delivered, fanOutDlq: new Set(this.fanOutDlq), deliveryDlq: new Set(this.deliveryDlq), missing };
  }

  /** The fan-out DLQ holds Lambda's failure records (requestPayload = the event) and rejected events. */
  private noteFanOut(m: Message): void {
    const body = JSON.parse(m.Body!) as { requestPayload?: { id?: string }; event?: { id?: string }; id?: string };
    this.parkedRecords.push(body);
    const id = body.requestPayload?.id ?? body.event?.id ?? body.id;
    if (id) this.fanOutDlq.add(id);
  }
}

let scenarioCount = 0;

async function scenario(count: number, answer: Answer = 200) {
  const tenantId = `fault-shop-${++scenarioCount}`;
  const r = await Receiver.start(() => answer);
  receivers.push(r);
  await subscribe(h, { tenantId, url: r.url });
  const changes: StatusChangeInput[] = Array.from({ length: count }, (_, i) => ({
    event: EVENT_NAMES[i % EVENT_NAMES.length]!,
    tenantId,
    oldStatus: 'approved',
    newStatus: 'option_selected',
    uuid: `f${scenarioCount}000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  }));
  return { r, changes };
}

async function expectNothingLost(label: string, r: Receiver, changes: StatusChangeInput[], eventIds: string[]): Promise<void> {
  const ledger = new Ledger(h, r, new Map(changes.map((c, i) => [c.uuid, eventIds[i]!])));
  let last: Accounting | undefined;
  await waitFor(
    async () => {
      last = await ledger.account();
      return last.missing.length === 0;
    },
    {
      timeoutMs: 45_000,
      intervalMs: 250,
      describe: () => `${label}: ${last?.missing.length} of ${changes.length} accepted events are neither delivered nor parked\n${h.logs.slice(-15).join('\n')}`,
    },
  );
  await waitForQuiet(h, 20_000);
  const final = await ledger.account();
  console.log(
    `${label}: ${changes.length} events → delivered ${final.delivered.size}, parked in fan-out DLQ ${final.fanOutDlq.size}, parked in delivery DLQ ${final.deliveryDlq.size}, ` +
      `${r.requests.length} webhook requests (${r.requests.length - r.deliveredIds().size} repeats)`,
  );
  expect(final.missing).toEqual([]);
  // A failure record in the fan-out DLQ names its cause and carries the event for redrive.
  for (const record of ledger.parkedRecords as Array<{ requestContext?: { condition?: string }; requestPayload?: unknown }>) {
    expect(record.requestContext?.condition).toMatch(/RetriesExhausted|EventAgeExceeded/);
    expect(record.requestPayload).toBeDefined();
  }
}

test('DynamoDB unavailable while events arrive: each accepted event is delivered after recovery or parked', async () => {
  const { r, changes } = await scenario(20);

  await h.runtime.faults.dynamodb.down();
  let eventIds: string[];
  try {
    eventIds = await putChanges(h, changes);
    await sleep(2_500);
  } finally {
    await h.runtime.faults.dynamodb.up();
  }

  await expectNothingLost('DynamoDB down 2.5 s', r, changes, eventIds);
  // The outage was felt: fan-out invocations failed and Lambda retried them.
  expect(h.logs.some((l) => /async invocation .* failed .*; retry 1 of 2/.test(l))).toBe(true);
});

test('SQS unavailable while events arrive: each accepted event is delivered after recovery or parked', async () => {
  const { r, changes } = await scenario(20);

  await h.runtime.faults.sqs.down();
  let eventIds: string[];
  try {
    eventIds = await putChanges(h, changes);
    await sleep(3_000);
  } finally {
    await h.runtime.faults.sqs.up();
  }

  await expectNothingLost('SQS down 3 s before fan-out', r, changes, eventIds);
});

test('SQS unavailable in the middle of deliveries: nothing is lost, jobs in flight are finished after recovery', async () => {
  // A slow receiver keeps deliveries in flight when SQS goes away.
  const { r, changes } = await scenario(40, { status: 200, delayMs: 150 });

  const eventIds = await putChanges(h, changes);
  await waitFor(() => r.requests.length >= 5, { timeoutMs: 15_000, describe: () => `only ${r.requests.length} deliveries started` });
  await h.runtime.faults.sqs.down();
  await sleep(2_500);
  await h.runtime.faults.sqs.up();

  await expectNothingLost('SQS down 2.5 s during deliveries', r, changes, eventIds);
});

test('DynamoDB unavailable in the middle of deliveries: nothing is lost', async () => {
  const { r, changes } = await scenario(40, { status: 200, delayMs: 150 });

  const eventIds = await putChanges(h, changes);
  await waitFor(() => r.requests.length >= 5, { timeoutMs: 15_000, describe: () => `only ${r.requests.length} deliveries started` });
  await h.runtime.faults.dynamodb.down();
  await sleep(2_500);
  await h.runtime.faults.dynamodb.up();

  await expectNothingLost('DynamoDB down 2.5 s during deliveries', r, changes, eventIds);
});

test('a DynamoDB outage longer than Lambda retries: fan-out gives up and each event is parked with Lambda\'s failure record', async () => {
  const { r, changes } = await scenario(5);

  await h.runtime.faults.dynamodb.down();
  let eventIds: string[] = [];
  const records: Array<{ requestContext: { condition: string; approximateInvokeCount: number; functionArn: string }; requestPayload: { id: string; detail: unknown }; responseContext: { functionError?: string }; responsePayload: { errorType?: string } }> = [];
  try {
    eventIds = await putChanges(h, changes);
    await waitFor(
      async () => {
        records.push(...(await drain(h, h.runtime.outputs.FanOutDlqUrl!, 50)).map((m) => JSON.parse(m.Body!)));
        return records.length >= changes.length;
      },
      { timeoutMs: 30_000, intervalMs: 250, describe: () => `${records.length} of ${changes.length} events parked\n${h.logs.slice(-10).join('\n')}` },
    );
  } finally {
    await h.runtime.faults.dynamodb.up();
  }

  expect(records.map((x) => x.requestPayload.id).sort()).toEqual([...eventIds].sort());
  for (const record of records) {
    expect(record.requestContext.condition).toBe('RetriesExhausted');
    expect(record.requestContext.approximateInvokeCount).toBe(3); // 1 + MaximumRetryAttempts (2)
    expect(record.responseContext.functionError).toBe('Unhandled');
    expect(record.responsePayload.errorType).toBeTruthy();
  }
  // Parked events are not delivered behind the operator's back. A later event of the same tenant
  // is the barrier: once it has arrived, anything the parked events could still cause would have too.
  const barrier: StatusChangeInput = { ...changes[0]!, uuid: 'fb000000-0000-4000-8000-000000000001' };
  await putChanges(h, [barrier]);
  await waitFor(() => r.requests.length >= 1, { timeoutMs: 20_000, describe: () => `the barrier event was not delivered\n${h.logs.slice(-10).join('\n')}` });
  expect(r.requests.map((q) => JSON.parse(q.body).returnOrder?.uuid ?? Object.values(JSON.parse(q.body) as Record<string, { uuid?: string }>).find((v) => v?.uuid)?.uuid)).toEqual([barrier.uuid]);
});
