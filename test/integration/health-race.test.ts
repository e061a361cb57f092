/**
 * Endpoint health shared by several delivery instances (docs/architecture.md §7), each with its own
 * cached copy (healthCacheTtlMs), against a real DynamoDB emulator (dynalite): the delivery
 * handler as the functions build it (lambdas/delivery/app.ts), several instances of it on one
 * health table, with a scripted endpoint.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSEvent } from 'aws-lambda';
import { type Dynalite, createTenantTable, startDynalite } from '../dynalite';
import { DynamoHealthStore } from '../../lambdas/adapters/health-store';
import { observability } from '../../lambdas/adapters/observability';
import { DEFAULT_BREAKER_POLICY, type BreakerPolicy } from '../../lambdas/core/breaker';
import type { Lane } from '../../lambdas/core/delivery';
import { buildJob, type DeliveryJob } from '../../lambdas/core/job';
import type { OperationalEvent } from '../../lambdas/core/operational';
import type { AttemptResult } from '../../lambdas/core/outcome';
import { newSecret, type Subscription } from '../../lambdas/core/subscriptions';
import { createDeliveryHandler } from '../../lambdas/delivery/app';

const TABLE = 'EndpointHealth';
let dynamo: Dynalite;
let health: DynamoHealthStore;

// Failing without a success for 1.8 s disables; a success another instance could not see yet can
// only follow a failure by 1.5 s here (the cache's 1 s plus the request; the stack derives it).
const breaker = { ...DEFAULT_BREAKER_POLICY, disableAfterHours: 0.0005, unseenSuccessMs: 1_500 } as BreakerPolicy;
const retry = { maxAttempts: 5, schedule: [60, 600, 3600, 21600], jitter: 0, maxRetryAfterSeconds: 21600 };

beforeAll(async () => {
  // The handlers' log lines and EMF records are not what these tests read: kept out of the test output.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  dynamo = await startDynalite();
  await createTenantTable(dynamo.client, TABLE);
  health = new DynamoHealthStore(DynamoDBDocumentClient.from(dynamo.client), TABLE, breaker);
});

afterAll(() => dynamo?.close());

let worlds = 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One subscription, one endpoint answering what the test says, and what the instances did. */
function world() {
  const subscription: Subscription = { tenantId: 'race-shop', subscriptionId: `sub_race_${++worlds}`, url: 'http://127.0.0.1:9/hook', events: ['*'], secret: newSecret(), state: 'active' };
  const answers: number[] = [];
  const disabled: string[] = [];
  const parked: { body: string; reason: string }[] = [];
  const moved: DeliveryJob[] = [];
  const announced: OperationalEvent[] = [];
  let serial = 0;

  /** A delivery function instance: its own caches, the shared health table. */
  const instance = (lane: Lane) => {
    const handler = createDeliveryHandler(
      {
        store: {
          get: async () => subscription,
          disable: async (_t, _s, reason) => {
            if (subscription.state !== 'active') return 'not-active';
            Object.assign(subscription, { state: 'disabled', disabledReason: reason });
            disabled.push(reason);
            return 'disabled';
          },
        },
        health,
        operational: { publishOperational: async (event) => void announced.push(event) },
        deliveryLog: { logQueued: async () => new Map(), logUpdate: async () => {} },
        sender: {
          send: async (): Promise<AttemptResult> => {
            const status = answers.shift();
            if (status === undefined) throw new Error('the endpoint got a request the test did not expect');
            return { kind: 'response', status, durationMs: 5 };
          },
        },
        ownQueue: { changeVisibility: async () => {} },
        retryLane: { sendJob: async (job) => void moved.push(job) },
        parking: { parkJob: async (body, reason) => void parked.push({ body, reason }) },
        observability: observability('statushooks-delivery'),
        subscriptionCacheTtlMs: 5_000,
        healthCacheTtlMs: 1_000,
      },
      { lane, retry, breaker, endpoints: { allowPrivate: true, allowHttp: true }, userAgent: 'statushooks/test', deadlineSpanMs: 86_400_000 },
    );
    /** Handles one job (`attempts` made before) and answers `status`. */
    return async (attempts: number, status: number): Promise<DeliveryJob> => {
      const n = ++serial;
      const job = {
        ...buildJob(
          { eventId: `evt-${n}`, event: 'sales_order.status.changed', entityKey: 'salesOrder', tenantId: subscription.tenantId, oldStatus: 'open', newStatus: 'shipped', entity: { uuid: `u-${n}`, number: null, externalId: null }, time: new Date().toISOString() },
          subscription.subscriptionId,
          '{}',
          new Date(),
        ),
        attempts,
      };
      answers.push(status);
      await handler(sqsEvent(job), context);
      return job;
    };
  };
  return { subscription, disabled, parked, moved, announced, instance };
}

const context = { awsRequestId: 'test', functionName: 'statushooks-delivery', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
const sqsEvent = (job: DeliveryJob): SQSEvent => ({
  Records: [
    {
      messageId: job.deliveryId,
      receiptHandle: `r-${job.deliveryId}`,
      body: JSON.stringify(job),
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'test', ApproximateFirstReceiveTimestamp: '0' },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-central-1:000000000000:statushooks-delivery',
      awsRegion: 'eu-central-1',
    },
  ],
});

test('a success on an instance whose cached health predates another instance\'s failure still counts: a failure after a quiet spell is retried, not a reason to disable', async () => {
  const w = world();
  const fastB = w.instance('fast');
  const retryA = w.instance('retry');
  // Instance B delivers (its cache now holds "healthy" for a second).
  await fastB(0, 200);
  // Instance A makes a job's last attempt: it fails, the job is parked (its one failure is recorded).
  await retryA(4, 503);
  expect(w.parked.map((p) => p.reason)).toEqual([expect.stringMatching(/^failed 5 attempts; last: HTTP 503/)]);
  // Instance B delivers the next job at once: the endpoint answered after that failure.
  await fastB(0, 200);
  expect(w.moved).toEqual([]);

  // A quiet spell, longer than disableAfterHours; then one attempt fails.
  await sleep(2_500);
  const retryC = w.instance('retry');
  const job = await retryC(0, 500);

  // The endpoint had a success after its last failure: this failure is a new streak, the job is retried.
  expect(w.disabled).toEqual([]);
  expect(w.subscription.state).toBe('active');
  expect(w.moved.map((j) => [j.deliveryId, j.attempts])).toEqual([[job.deliveryId, 1]]);
  expect(w.parked).toHaveLength(1);
  expect(w.announced.filter((e) => e.detailType === 'statushooks.subscription.disabled')).toEqual([]);
});

test('the same race, then the endpoint fails for good: the circuit opens and operators are told it is failing since the quiet spell ended, not since the failure before it', async () => {
  const w = world();
  const fastB = w.instance('fast');
  const retryA = w.instance('retry');
  await fastB(0, 200);
  await retryA(4, 503);
  await fastB(0, 200);
  await sleep(2_500);
  const quietEnded = Date.now();
  // Every attempt fails from now on, until the circuit opens.
  for (let i = 0; i < 5 && !w.announced.some((e) => e.detailType === 'statushooks.endpoint.failing'); i++) await retryA(0, 500);

  const failing = w.announced.filter((e) => e.detailType === 'statushooks.endpoint.failing');
  expect(failing).toHaveLength(1);
  expect(Date.parse(failing[0]!.detail.since)).toBeGreaterThanOrEqual(quietEnded);
  expect(w.disabled).toEqual([]);
});

test('an endpoint that keeps failing is still disabled after disableAfterHours, counted from its first failure past the window', async () => {
  const w = world();
  const retryA = w.instance('retry');
  await retryA(0, 500);
  await sleep(1_700);
  const secondFailure = Date.now();
  await retryA(0, 500);
  expect(w.disabled).toEqual([]);
  await sleep(2_000);
  await retryA(0, 500);

  expect(w.disabled).toEqual([expect.stringMatching(/^no successful delivery since \S+ \(0\.0005 h allowed; 3 consecutive failed attempts\); last: HTTP 500$/)]);
  const since = Date.parse(/since (\S+)/.exec(w.disabled[0]!)![1]!);
  expect(since).toBeGreaterThanOrEqual(secondFailure);
  expect(w.subscription.state).toBe('disabled');
  expect(w.parked.map((p) => p.reason)).toEqual([expect.stringMatching(/^subscription disabled after sustained failure/)]);
  expect(w.announced.map((e) => e.detailType)).toEqual(['statushooks.subscription.disabled']);
});
