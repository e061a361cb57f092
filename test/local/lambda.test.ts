/**
 * Lambda semantics of the local runner, with tiny handler bundles: isolation, timeout, errors,
 * one invocation per environment, and async invocations (retries, then the destinations).
 */
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { stringifyJson } from '../../lambdas/core/json';
import { AsyncInvoker, LambdaFunction } from '../../local/lambda-runner';
import { type Fixture, type QueueFixture, fixture, handlerSpec, queues, sleep } from './fixtures';

jest.setTimeout(30_000);

let f: Fixture;
let q: QueueFixture;
const functions: LambdaFunction[] = [];
const lines: string[] = [];

beforeAll(async () => {
  f = await fixture();
  q = await queues(f, { OnFailureQueue: {}, DeadLetterQueue: {} });
});

afterAll(async () => {
  await Promise.all(functions.map((fn) => fn.stop()));
  await q?.stop();
  f?.cleanup();
});

function run(source: string, overrides: Parameters<typeof handlerSpec>[2] = {}): LambdaFunction {
  const fn = new LambdaFunction(handlerSpec(f, source, overrides), f.hosts.lambdaHost, (name, stream, line) => lines.push(`${name} ${stream} ${line}`));
  functions.push(fn);
  return fn;
}

test('a function sees its own environment only, not the runtime process’s nor another function’s', async () => {
  process.env.STATUSHOOKS_TEST_HOST_ONLY = 'secret';
  try {
    const source = `exports.handler = async () => ({ mine: process.env.MINE, hostOnly: process.env.STATUSHOOKS_TEST_HOST_ONLY ?? null })`;
    const a = run(source, { environment: { MINE: 'a' } });
    const b = run(source, { environment: { MINE: 'b' } });
    const [ra, rb] = await Promise.all([a.invoke({}), b.invoke({})]);
    expect(ra).toMatchObject({ ok: true, payload: { mine: 'a', hostOnly: null } });
    expect(rb).toMatchObject({ ok: true, payload: { mine: 'b', hostOnly: null } });
  } finally {
    delete process.env.STATUSHOOKS_TEST_HOST_ONLY;
  }
});

test('the event arrives as JSON, the context is Lambda-like, and stdout lines reach the runtime', async () => {
  const fn = run(`exports.handler = async (event, context) => {
    console.log(JSON.stringify({ level: 'INFO', message: 'hello', requestId: context.awsRequestId }));
    return { event, name: context.functionName, arn: context.invokedFunctionArn, remaining: context.getRemainingTimeInMillis() };
  }`);
  const result = await fn.invoke({ when: new Date(0) }, 'req-1');
  expect(result).toMatchObject({ ok: true, requestId: 'req-1', payload: { event: { when: '1970-01-01T00:00:00.000Z' }, name: fn.spec.name, arn: fn.spec.arn } });
  expect((result as { payload: { remaining: number } }).payload.remaining).toBeGreaterThan(3_000);
  await sleep(50);
  expect(lines.some((l) => l.startsWith(`${fn.spec.name} stdout `) && l.includes('"requestId":"req-1"'))).toBe(true);
});

test('an event nested 10,000 deep reaches the handler, and a deep result comes back (as Lambda passes any JSON through)', async () => {
  const deep = JSON.parse(`{"depth":${'['.repeat(10_000)}"bottom"${']'.repeat(10_000)}}`) as unknown;
  const fn = run(`exports.handler = async (event) => { let d = 0, v = event.depth; while (Array.isArray(v)) { v = v[0]; d++; } return { d, v, echo: event }; }`);
  const result = await fn.invoke(deep);
  expect(result).toMatchObject({ ok: true, payload: { d: 10_000, v: 'bottom' } });
  // Compared as text: jest's deep equality recurses too.
  expect(stringifyJson((result as { payload: { echo: unknown } }).payload.echo)).toBe(stringifyJson(deep));
});

test('a thrown error is the invocation’s error, and the warm environment is reused', async () => {
  const fn = run(`let n = 0; exports.handler = async () => { n++; if (n === 1) { const e = new Error('boom'); e.name = 'BoomError'; throw e; } return n; }`, { maxEnvironments: 1 });
  const first = await fn.invoke({});
  expect(first).toMatchObject({ ok: false, error: { errorType: 'BoomError', errorMessage: 'boom' } });
  expect(await fn.invoke({})).toMatchObject({ ok: true, payload: 2 });
});

describe('callback-style handlers', () => {
  const callbackHandler = `exports.handler = (event, context, callback) => { setTimeout(() => callback(null, { doubled: event.n * 2 }), 10); }`;

  test('work on Node.js 22 and earlier runtimes', async () => {
    const fn = run(callbackHandler, { runtime: 'nodejs22.x' });
    expect(await fn.invoke({ n: 21 })).toMatchObject({ ok: true, payload: { doubled: 42 } });
    const succeed = run(`exports.handler = (event, context) => { context.succeed({ waits: context.callbackWaitsForEmptyEventLoop }); }`, { runtime: 'nodejs20.x' });
    expect(await succeed.invoke({})).toMatchObject({ ok: true, payload: { waits: true } });
  });

  test('fail to start on Node.js 24 and later, as on Lambda, naming the handler; async handlers with any arity and plain two-parameter ones run', async () => {
    const refused = await run(callbackHandler, { runtime: 'nodejs24.x' }).invoke({ n: 21 });
    expect(refused).toMatchObject({ ok: false, error: { errorType: 'Runtime.CallbackHandlerDeprecated' } });
    expect((refused as { error: { errorMessage: string } }).error.errorMessage).toMatch(/"handler" takes a callback .*nodejs24\.x supports async handlers only/);
    expect(await run(callbackHandler, { runtime: 'nodejs26.x' }).invoke({})).toMatchObject({ ok: false, error: { errorType: 'Runtime.CallbackHandlerDeprecated' } });

    // No callback and no context methods: the handler's arguments and the context are what Lambda passes.
    const asyncThree = run(
      `exports.handler = async function (event, context, callback) { return { args: arguments.length, callback: typeof callback, done: typeof context.done, succeed: typeof context.succeed, waits: typeof context.callbackWaitsForEmptyEventLoop }; }`,
      { runtime: 'nodejs24.x' },
    );
    expect(await asyncThree.invoke({})).toMatchObject({ ok: true, payload: { args: 2, callback: 'undefined', done: 'undefined', succeed: 'undefined', waits: 'undefined' } });
    const plainPromise = run(`exports.handler = (event, context) => Promise.resolve({ n: event.n, name: context.functionName })`, { runtime: 'nodejs24.x' });
    expect(await plainPromise.invoke({ n: 7 })).toMatchObject({ ok: true, payload: { n: 7, name: plainPromise.spec.name } });
    const plainValue = run(`exports.handler = (event) => ({ sync: event.n })`, { runtime: 'nodejs24.x' });
    expect(await plainValue.invoke({ n: 3 })).toMatchObject({ ok: true, payload: { sync: 3 } });
  });
});

test('the function timeout ends the invocation as Sandbox.Timedout, and the next one gets a fresh environment', async () => {
  const fn = run(`let cold = true; exports.handler = async (e) => { const wasCold = cold; cold = false; if (e.hang) await new Promise(() => {}); return { wasCold }; }`, {
    timeoutSeconds: 1,
    maxEnvironments: 1,
  });
  expect(await fn.invoke({})).toMatchObject({ ok: true, payload: { wasCold: true } });
  const timedOut = await fn.invoke({ hang: true });
  expect(timedOut).toMatchObject({ ok: false, error: { errorType: 'Sandbox.Timedout' } });
  expect((timedOut as { error: { errorMessage: string } }).error.errorMessage).toMatch(/Task timed out after 1\.\d\d seconds/);
  expect(await fn.invoke({})).toMatchObject({ ok: true, payload: { wasCold: true } });
});

test('a module that fails to load reports Runtime.ImportModuleError on invocation', async () => {
  const fn = run(`throw new Error('cannot start');`);
  expect(await fn.invoke({})).toMatchObject({ ok: false, error: { errorType: 'Runtime.ImportModuleError', errorMessage: 'cannot start' } });
});

test('an environment runs one invocation at a time', async () => {
  // The handler counts how many invocations it is inside at once: never more than one.
  const fn = run(`let inside = 0, most = 0; exports.handler = async () => { inside++; most = Math.max(most, inside); await new Promise((r) => setTimeout(r, 100)); inside--; return most; }`, { maxEnvironments: 1 });
  const results = await Promise.all([fn.invoke({}), fn.invoke({}), fn.invoke({})]);
  expect(results.map((r) => (r.ok ? r.payload : r.error))).toEqual([1, 1, 1]);
});

describe('async invocation', () => {
  const receiveAll = async (queueUrl: string) => {
    const out = await q.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }));
    return out.Messages ?? [];
  };

  test('a failing event is retried after the delays and succeeds', async () => {
    const fn = run(`let n = 0; const at = []; exports.handler = async () => { at.push(Date.now()); if (++n < 3) throw new Error('not yet'); return at; }`, { maxEnvironments: 1 });
    const logs: string[] = [];
    const invoker = new AsyncInvoker(fn, { maximumRetryAttempts: 2, maximumEventAgeSeconds: 60 }, { sqs: q.sqs, retryDelaysMs: [200, 400], log: (l) => logs.push(l) });
    invoker.invokeAsync({ hello: 1 });
    await invoker.whenIdle();
    expect(logs.filter((l) => /retry \d of 2/.test(l))).toHaveLength(2);
    const at = (await fn.invoke({})) as { ok: true; payload: number[] };
    // Three invocations, in order, and the runtime announced the configured delays.
    const [a, b, c] = at.payload;
    expect(a! <= b! && b! <= c!).toBe(true);
    expect(logs.filter((l) => /retry \d of 2/.test(l)).map((l) => l.replace(/.* in /, 'in '))).toEqual(['in 0.2 s', 'in 0.4 s']);
  });

  test('after MaximumRetryAttempts the on-failure destination gets Lambda’s record, the DLQ the event', async () => {
    const fn = run(`exports.handler = async () => { throw new TypeError('always'); }`);
    const [onFailure, dlq] = [q.queues.get('OnFailureQueue')!, q.queues.get('DeadLetterQueue')!];
    const invoker = new AsyncInvoker(
      fn,
      { maximumRetryAttempts: 1, maximumEventAgeSeconds: 60, onFailureQueueUrl: onFailure.url, deadLetterQueueUrl: dlq.url },
      { sqs: q.sqs, retryDelaysMs: [50], log: () => undefined },
    );
    const requestId = invoker.invokeAsync({ id: 'event-1' });
    await invoker.whenIdle();

    const [record] = await receiveAll(onFailure.url);
    expect(JSON.parse(record!.Body!)).toEqual({
      version: '1.0',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      requestContext: { requestId, functionArn: `${fn.spec.arn}:$LATEST`, condition: 'RetriesExhausted', approximateInvokeCount: 2 },
      requestPayload: { id: 'event-1' },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: expect.objectContaining({ errorType: 'TypeError', errorMessage: 'always' }),
    });
    const [dead] = await receiveAll(dlq.url);
    expect(JSON.parse(dead!.Body!)).toEqual({ id: 'event-1' });
    expect(dead!.MessageAttributes?.RequestID?.StringValue).toBe(requestId);
    expect(dead!.MessageAttributes?.ErrorMessage?.StringValue).toBe('always');
  });

  test('the destination record is sent once SQS is back when it was unavailable', async () => {
    const fn = run(`exports.handler = async () => { throw new Error('nope'); }`);
    const onFailure = q.queues.get('OnFailureQueue')!;
    const invoker = new AsyncInvoker(fn, { maximumRetryAttempts: 0, maximumEventAgeSeconds: 60, onFailureQueueUrl: onFailure.url }, { sqs: q.sqs, retryDelaysMs: [], log: () => undefined });
    await q.emulators.faults.sqs.down();
    invoker.invokeAsync({ id: 'event-2' });
    await sleep(800);
    await q.emulators.faults.sqs.up();
    await invoker.whenIdle();
    const [record] = await receiveAll(onFailure.url);
    expect(JSON.parse(record!.Body!).requestPayload).toEqual({ id: 'event-2' });
  });

  test('a record SQS refuses (U+FFFF in the event) is not retried forever: it is reported lost, as Lambda drops it', async () => {
    const fn = run(`exports.handler = async () => { throw new Error('nope'); }`);
    const [onFailure, dlq] = [q.queues.get('OnFailureQueue')!, q.queues.get('DeadLetterQueue')!];
    const logs: string[] = [];
    const invoker = new AsyncInvoker(fn, { maximumRetryAttempts: 0, maximumEventAgeSeconds: 60, onFailureQueueUrl: onFailure.url, deadLetterQueueUrl: dlq.url }, { sqs: q.sqs, retryDelaysMs: [], log: (l) => logs.push(l) });
    const requestId = invoker.invokeAsync({ id: 'event-3', detail: { note: 'x\uffff' } });
    await invoker.whenIdle();
    expect(logs.filter((l) => l.includes('refused the record'))).toEqual([
      expect.stringMatching(/its destination queue refused the record \(.*InvalidMessageContents.*\); on AWS the record is lost \(DestinationDeliveryFailures\)$/),
      expect.stringMatching(/its destination queue refused the record \(.*InvalidMessageContents.*\); on AWS the record is lost \(DestinationDeliveryFailures\)$/),
    ]);
    expect(logs.at(-1)).toContain(`event ${requestId} failed after 1 invocation(s) (Error: nope); LOST: its destination refused it`);
    expect(await receiveAll(onFailure.url)).toEqual([]);
  });
});
