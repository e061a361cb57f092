/**
 * Lambda, locally: each function runs from its bundle in worker threads (one per execution
 * environment, one invocation at a time each), with its own environment and its timeout; async
 * invocations get Lambda's event-invoke semantics (bounded retries with delays, maximum event age,
 * then the on-failure destination or the function's dead-letter queue).
 */
import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { type MessageAttributeValue, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { FunctionErrorPayload, InvocationUsage, LambdaHostData, LambdaHostMessage, LambdaHostRequest } from './hosts/protocol';
import { stringifyJson } from '../lambdas/core/json';
import { errorMessage } from '../lambdas/core/errors';
import { truncateText } from '../lambdas/core/text';
import { isPermanentSqsRefusal } from './sqs-refusal';

export interface FunctionSpec {
  readonly logicalId: string;
  readonly name: string;
  /** A short name for log lines. */
  readonly displayName: string;
  readonly arn: string;
  /** Absolute path of the file that exports the handler. */
  readonly modulePath: string;
  readonly exportName: string;
  /** The template's `Runtime`, e.g. `nodejs24.x`. */
  readonly runtime: string;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
  /** The complete `process.env` of the function: template variables plus Lambda's own. */
  readonly environment: Readonly<Record<string, string>>;
  /** Most execution environments (concurrent invocations) this function gets. */
  readonly maxEnvironments: number;
}

export type InvokeResult =
  | { readonly ok: true; readonly requestId: string; readonly payload: unknown; readonly durationMs: number }
  | { readonly ok: false; readonly requestId: string; readonly error: FunctionErrorPayload; readonly durationMs: number };

/** What a function's invocations used since the last reset (`npm run cost`). */
export interface FunctionUsage {
  readonly invocations: number;
  /** Invocations that failed (error, timeout, crash). */
  readonly errors: number;
  /** Invocations running now. */
  readonly inFlight: number;
  /** Per finished invocation, measured in its worker around the handler (see InvocationUsage). */
  readonly wallMs: readonly number[];
  readonly cpuMs: readonly number[];
  readonly cpuSource: InvocationUsage['cpuSource'] | 'none';
}

export type LogSink = (functionName: string, stream: 'stdout' | 'stderr', line: string) => void;

class RuntimeStoppedError extends Error {
  constructor() {
    super('the local runtime is stopping');
    this.name = 'RuntimeStoppedError';
  }
}

/** One execution environment: a worker that loaded the bundle once. */
class Environment {
  readonly worker: Worker;
  readonly ready: Promise<FunctionErrorPayload | undefined>;
  private nextId = 1;
  private pending: { id: number; settle: (message: LambdaHostMessage) => void } | undefined;
  dead = false;

  constructor(spec: FunctionSpec, hostScript: string, onLog: LogSink) {
    const data: LambdaHostData = { modulePath: spec.modulePath, exportName: spec.exportName, runtime: spec.runtime };
    this.worker = new Worker(hostScript, { workerData: data, env: { ...spec.environment }, stdout: true, stderr: true });
    pipeLines(this.worker.stdout, (line) => onLog(spec.displayName, 'stdout', line));
    pipeLines(this.worker.stderr, (line) => onLog(spec.displayName, 'stderr', line));
    this.ready = new Promise((resolve) => {
      const onMessage = (message: LambdaHostMessage) => {
        if (message.type === 'ready') resolve(undefined);
        else if (message.type === 'init-error') resolve(message.error);
        else if (message.type === 'result' && this.pending?.id === message.id) this.pending.settle(message);
        else if (message.type === 'crash') {
          this.dead = true;
          resolve(message.error);
          this.pending?.settle(message);
        }
      };
      this.worker.on('message', onMessage);
      const onGone = (error?: Error) => {
        this.dead = true;
        const payload: FunctionErrorPayload = { errorType: 'Runtime.ExitError', errorMessage: error ? error.message : 'the execution environment exited' };
        resolve(payload);
        this.pending?.settle({ type: 'crash', error: payload });
      };
      this.worker.on('error', onGone);
      this.worker.on('exit', () => onGone());
    });
  }

  run(payload: string, context: LambdaHostRequest['context']): Promise<LambdaHostMessage> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending = {
        id,
        settle: (message) => {
          this.pending = undefined;
          resolve(message);
        },
      };
      this.worker.postMessage({ type: 'invoke', id, payload, context } satisfies LambdaHostRequest);
    });
  }

  async kill(): Promise<void> {
    this.dead = true;
    await this.worker.terminate();
  }
}

function pipeLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).replace(/\r$/, '');
      buffer = buffer.slice(nl + 1);
      if (line.length > 0) onLine(line);
    }
  });
  stream.on('end', () => {
    if (buffer.length > 0) onLine(buffer);
    buffer = '';
  });
}

/** A function with its pool of execution environments; `invoke` is a RequestResponse invocation. */
export class LambdaFunction {
  private readonly idle: Environment[] = [];
  private readonly all = new Set<Environment>();
  private readonly waiting: Array<(env: Environment | Error) => void> = [];
  private stopped = false;
  private usage = { invocations: 0, errors: 0, inFlight: 0, wallMs: [] as number[], cpuMs: [] as number[], cpuSource: 'none' as FunctionUsage['cpuSource'] };

  constructor(
    readonly spec: FunctionSpec,
    private readonly hostScript: string,
    private readonly onLog: LogSink,
  ) {}

  /** Invocations, errors and per-invocation time since the last reset. */
  usageSnapshot(): FunctionUsage {
    return { ...this.usage, wallMs: [...this.usage.wallMs], cpuMs: [...this.usage.cpuMs] };
  }

  resetUsage(): void {
    this.usage = { invocations: 0, errors: 0, inFlight: this.usage.inFlight, wallMs: [], cpuMs: [], cpuSource: this.usage.cpuSource };
  }

  async invoke(event: unknown, requestId: string = randomUUID()): Promise<InvokeResult> {
    this.usage.inFlight++;
    try {
      const result = await this.invokeOnce(event, requestId);
      this.usage.invocations++;
      if (!result.ok) this.usage.errors++;
      return result;
    } finally {
      this.usage.inFlight--;
    }
  }

  private recordUsage(usage: InvocationUsage | undefined, fallbackWallMs: number): void {
    this.usage.wallMs.push(usage?.wallMs ?? fallbackWallMs);
    this.usage.cpuMs.push(usage?.cpuMs ?? fallbackWallMs);
    if (usage) this.usage.cpuSource = usage.cpuSource;
  }

  private async invokeOnce(event: unknown, requestId: string): Promise<InvokeResult> {
    const started = Date.now();
    const env = await this.acquire();
    const failure = (error: FunctionErrorPayload): InvokeResult => ({ ok: false, requestId, error, durationMs: Date.now() - started });
    const initError = await env.ready;
    if (initError) {
      this.discard(env);
      return failure(initError);
    }
    const timeoutMs = this.spec.timeoutSeconds * 1000;
    const context = {
      awsRequestId: requestId,
      functionName: this.spec.name,
      functionVersion: '$LATEST',
      invokedFunctionArn: this.spec.arn,
      memoryLimitInMB: String(this.spec.memorySize),
      logGroupName: `/aws/lambda/${this.spec.name}`,
      logStreamName: `local/[$LATEST]${env.worker.threadId}`,
      deadlineMs: Date.now() + timeoutMs,
    };
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([env.run(stringifyJson(event ?? null), context), timedOut]);
    clearTimeout(timer);
    this.recordUsage(outcome !== 'timeout' && outcome.type === 'result' ? outcome.usage : undefined, Date.now() - started);
    if (outcome === 'timeout') {
      // Lambda ends the environment on timeout; the next invocation gets a fresh one.
      this.discard(env);
      const seconds = (Date.now() - started) / 1000;
      return failure({ errorType: 'Sandbox.Timedout', errorMessage: `${new Date().toISOString()} ${requestId} Task timed out after ${seconds.toFixed(2)} seconds` });
    }
    if (outcome.type === 'result' && outcome.ok) {
      this.release(env);
      return { ok: true, requestId, payload: JSON.parse(outcome.payload) as unknown, durationMs: Date.now() - started };
    }
    if (outcome.type === 'result') {
      this.release(env);
      return failure(outcome.error);
    }
    this.discard(env);
    return failure(outcome.type === 'crash' || outcome.type === 'init-error' ? outcome.error : { errorType: 'Runtime.Unknown', errorMessage: 'unexpected message' });
  }

  /** Starts one environment ahead of the first invocation (the cold start happens at start-up). */
  warm(): Promise<FunctionErrorPayload | undefined> {
    if (this.all.size > 0 || this.stopped) return Promise.resolve(undefined);
    const env = this.spawn();
    this.idle.push(env);
    return env.ready;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.waiting.splice(0)) w(new RuntimeStoppedError());
    await Promise.all([...this.all].map((env) => env.kill()));
    this.all.clear();
    this.idle.length = 0;
  }

  private spawn(): Environment {
    const env = new Environment(this.spec, this.hostScript, this.onLog);
    this.all.add(env);
    return env;
  }

  private acquire(): Promise<Environment> {
    if (this.stopped) return Promise.reject(new RuntimeStoppedError());
    while (this.idle.length > 0) {
      const env = this.idle.pop()!;
      if (!env.dead) return Promise.resolve(env);
      this.all.delete(env);
    }
    if (this.all.size < this.spec.maxEnvironments) return Promise.resolve(this.spawn());
    return new Promise((resolve, reject) => {
      this.waiting.push((env) => (env instanceof Error ? reject(env) : resolve(env)));
    });
  }

  private release(env: Environment): void {
    if (env.dead || this.stopped) {
      this.discard(env);
      return;
    }
    const next = this.waiting.shift();
    if (next) next(env);
    else this.idle.push(env);
  }

  private discard(env: Environment): void {
    this.all.delete(env);
    void env.kill();
    const next = this.waiting.shift();
    if (next) {
      if (this.stopped) next(new RuntimeStoppedError());
      else next(this.spawn());
    }
  }
}

/** Where Lambda sends an async invocation that failed for good. */
export interface AsyncFailureTarget {
  /** An SQS queue as the EventInvokeConfig OnFailure destination (a destination record). */
  readonly onFailureQueueUrl?: string;
  /** An SQS queue as the function's DeadLetterConfig (the original event). */
  readonly deadLetterQueueUrl?: string;
}

export interface AsyncInvokeConfig extends AsyncFailureTarget {
  /** EventInvokeConfig MaximumRetryAttempts (Lambda default 2). */
  readonly maximumRetryAttempts: number;
  /** EventInvokeConfig MaximumEventAgeInSeconds (Lambda default 6 h). */
  readonly maximumEventAgeSeconds: number;
  /** An SQS queue as the OnSuccess destination. */
  readonly onSuccessQueueUrl?: string;
}

export interface AsyncInvokerDeps {
  readonly sqs: SQSClient;
  /**
   * Delay before retry n (ms). Lambda waits about 1 minute, then 2 minutes; the local runtime
   * scales this down (default 1 s, 2 s) so that retries are observable in seconds.
   */
  readonly retryDelaysMs: readonly number[];
  readonly log: (line: string) => void;
}

/** The destination record Lambda sends for an async invocation (documented shape). */
export interface DestinationRecord {
  readonly version: '1.0';
  readonly timestamp: string;
  readonly requestContext: { requestId: string; functionArn: string; condition: 'Success' | 'RetriesExhausted' | 'EventAgeExceeded'; approximateInvokeCount: number };
  readonly requestPayload: unknown;
  readonly responseContext: { statusCode: number; executedVersion: string; functionError?: 'Unhandled' };
  readonly responsePayload: unknown;
}

/**
 * Lambda's internal queue for `InvocationType: Event`: accepts the event at once, runs it, retries
 * a failure after the configured delays, and hands an event that failed for good to its
 * destination. Sending to the destination is retried until it succeeds (or the runtime stops),
 * so an event is never dropped because SQS was briefly unavailable; only a refusal of the
 * function's role is final (as on AWS, where the record is then lost).
 */
export class AsyncInvoker {
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private inFlight = 0;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(
    readonly fn: LambdaFunction,
    readonly config: AsyncInvokeConfig,
    private readonly deps: AsyncInvokerDeps,
  ) {}

  /** Accepts an event (like Invoke with InvocationType Event returning 202) and returns its request id. */
  invokeAsync(payload: unknown): string {
    if (this.stopped) throw new RuntimeStoppedError();
    const requestId = randomUUID();
    this.track(this.run(payload, requestId, Date.now()));
    return requestId;
  }

  /** Resolves once no event is queued, running or waiting for a retry. */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private track(work: Promise<void>): void {
    this.inFlight++;
    void work
      .catch((error: unknown) => {
        if (!(error instanceof RuntimeStoppedError)) this.deps.log(`! ${this.fn.spec.displayName}: async invocation failed unexpectedly: ${String(error)}`);
      })
      .finally(() => {
        this.inFlight--;
        if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
  }

  private async run(payload: unknown, requestId: string, acceptedAt: number): Promise<void> {
    const maxInvokes = 1 + this.config.maximumRetryAttempts;
    let last: InvokeResult | undefined;
    for (let attempt = 1; attempt <= maxInvokes; attempt++) {
      if (attempt > 1) {
        const delay = this.deps.retryDelaysMs[attempt - 2] ?? this.deps.retryDelaysMs.at(-1) ?? 0;
        await this.sleep(delay);
      }
      if (this.stopped) return;
      if ((Date.now() - acceptedAt) / 1000 > this.config.maximumEventAgeSeconds) {
        await this.fail(payload, requestId, attempt - 1, 'EventAgeExceeded', last);
        return;
      }
      last = await this.fn.invoke(payload, requestId);
      if (!last.ok && attempt < maxInvokes) {
        const delay = this.deps.retryDelaysMs[attempt - 1] ?? this.deps.retryDelaysMs.at(-1) ?? 0;
        this.deps.log(`! ${this.fn.spec.displayName}: async invocation ${requestId.slice(0, 8)} failed (${last.error.errorType}: ${firstLine(last.error.errorMessage)}); retry ${attempt} of ${maxInvokes - 1} in ${delay / 1000} s`);
      }
      if (last.ok) {
        if (this.config.onSuccessQueueUrl) {
          await this.send(this.config.onSuccessQueueUrl, stringifyJson(this.record(payload, requestId, attempt, 'Success', last)));
        }
        return;
      }
    }
    await this.fail(payload, requestId, maxInvokes, 'RetriesExhausted', last);
  }

  private record(payload: unknown, requestId: string, invokeCount: number, condition: DestinationRecord['requestContext']['condition'], result: InvokeResult | undefined): DestinationRecord {
    return {
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: { requestId, functionArn: `${this.fn.spec.arn}:$LATEST`, condition, approximateInvokeCount: invokeCount },
      requestPayload: payload,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', ...(result && !result.ok ? { functionError: 'Unhandled' as const } : {}) },
      responsePayload: result ? (result.ok ? result.payload : result.error) : null,
    };
  }

  private async fail(payload: unknown, requestId: string, invokeCount: number, condition: 'RetriesExhausted' | 'EventAgeExceeded', last: InvokeResult | undefined): Promise<void> {
    const reason = last && !last.ok ? `${last.error.errorType}: ${last.error.errorMessage}` : condition;
    const { onFailureQueueUrl, deadLetterQueueUrl } = this.config;
    let sent = true;
    if (onFailureQueueUrl) {
      sent = (await this.send(onFailureQueueUrl, stringifyJson(this.record(payload, requestId, invokeCount, condition, last)))) && sent;
    }
    if (deadLetterQueueUrl) {
      const error = last && !last.ok ? last.error : { errorType: condition, errorMessage: condition };
      sent = (await this.send(deadLetterQueueUrl, stringifyJson(payload), {
        RequestID: { DataType: 'String', StringValue: requestId },
        ErrorCode: { DataType: 'Number', StringValue: '200' },
        ErrorMessage: { DataType: 'String', StringValue: error.errorMessage.slice(0, 1000) },
      })) && sent;
    }
    const where = !(onFailureQueueUrl || deadLetterQueueUrl) ? 'dropped (no failure destination)' : sent ? 'sent to its failure destination' : 'LOST: its destination refused it';
    this.deps.log(`! ${this.fn.spec.displayName}: event ${requestId} failed after ${invokeCount} invocation(s) (${reason}); ${where}`);
  }

  /**
   * Sends to a destination with the function's role, as Lambda does. Retried until SQS answers;
   * refused by IAM or by SQS itself (a character it cannot carry, too big: sqs-refusal.ts): false
   * at once (Lambda cannot deliver the record either: on AWS it is lost, and counted in the
   * function's DestinationDeliveryFailures metric).
   */
  private async send(queueUrl: string, body: string, attributes?: Record<string, MessageAttributeValue>): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.deps.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageAttributes: attributes }));
        return true;
      } catch (error) {
        if (this.stopped) throw new RuntimeStoppedError();
        // SQS names it AccessDenied (query and JSON protocols); AccessDeniedException for safety.
        if (/^AccessDenied(Exception)?$/.test((error as { name?: string }).name ?? '')) {
          this.deps.log(`! ${this.fn.spec.displayName}: its role may not send to its destination queue (${errorMessage(error)}); on AWS the record is lost (DestinationDeliveryFailures)`);
          return false;
        }
        if (isPermanentSqsRefusal(error)) {
          this.deps.log(`! ${this.fn.spec.displayName}: its destination queue refused the record (${errorMessage(error)}); on AWS the record is lost (DestinationDeliveryFailures)`);
          return false;
        }
        if (attempt === 0) this.deps.log(`! ${this.fn.spec.displayName}: cannot reach its destination queue yet (${errorMessage(error)}); retrying`);
        await this.sleep(Math.min(250 * 2 ** attempt, 2000));
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.stopped) {
        reject(new RuntimeStoppedError());
        return;
      }
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}

function firstLine(text: string): string {
  return truncateText(text.split('\n')[0] ?? '', 200);
}

export { RuntimeStoppedError };
