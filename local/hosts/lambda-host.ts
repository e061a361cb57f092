/**
 * Worker thread that plays one Lambda execution environment: it loads a function's bundle once
 * (the cold start) and runs one invocation at a time, like Lambda does per environment. Its
 * `process.env` is the function's own environment, set by the runtime when the worker starts.
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import type { FunctionErrorPayload, InvocationUsage, InvokeContextData, LambdaHostData, LambdaHostMessage, LambdaHostRequest } from './protocol';
import { stringifyJson } from '../../lambdas/core/json';

type Handler = (event: unknown, context: unknown, callback?: (error?: unknown, result?: unknown) => void) => unknown;

const data = workerData as LambdaHostData;
const port = parentPort!;
const post = (message: LambdaHostMessage): void => port.postMessage(message);

/**
 * Lambda's Node.js 24 runtime and later take async handlers only: a plain function declaring a
 * third parameter (the callback) fails the INIT phase with Runtime.CallbackHandlerDeprecated, and
 * the context has no `callbackWaitsForEmptyEventLoop`, `done`, `succeed` or `fail`.
 */
const callbacks = Number(/^nodejs(\d+)/.exec(data.runtime)?.[1] ?? 0) < 24;

function toErrorPayload(error: unknown): FunctionErrorPayload {
  if (error instanceof Error) {
    return { errorType: error.name || error.constructor.name, errorMessage: error.message, trace: (error.stack ?? '').split('\n') };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}

async function load(): Promise<Handler> {
  const mod = data.modulePath.endsWith('.mjs')
    ? ((await import(pathToFileURL(data.modulePath).href)) as Record<string, unknown>)
    : // eslint-disable-next-line @typescript-eslint/no-require-imports
      (require(data.modulePath) as Record<string, unknown>);
  const handler = mod[data.exportName] ?? (mod.default as Record<string, unknown> | undefined)?.[data.exportName];
  if (typeof handler !== 'function') {
    const error = new Error(`${data.modulePath} does not export a function named "${data.exportName}"`);
    error.name = 'Runtime.HandlerNotFound';
    throw error;
  }
  if (!callbacks && handler.length >= 3 && handler.constructor.name !== 'AsyncFunction') {
    const error = new Error(
      `${data.modulePath}: "${data.exportName}" takes a callback (${handler.length} parameters, not async), and ${data.runtime} supports async handlers only (as Lambda's Node.js 24 and later: declare it async (event, context) and return the result)`,
    );
    error.name = 'Runtime.CallbackHandlerDeprecated';
    throw error;
  }
  return handler as Handler;
}

function makeContext(c: InvokeContextData): Record<string, unknown> {
  return {
    awsRequestId: c.awsRequestId,
    functionName: c.functionName,
    functionVersion: c.functionVersion,
    invokedFunctionArn: c.invokedFunctionArn,
    memoryLimitInMB: c.memoryLimitInMB,
    logGroupName: c.logGroupName,
    logStreamName: c.logStreamName,
    ...(callbacks ? { callbackWaitsForEmptyEventLoop: true } : {}),
    getRemainingTimeInMillis: () => Math.max(0, c.deadlineMs - Date.now()),
  };
}

function runHandler(handler: Handler, event: unknown, context: Record<string, unknown>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const callback = (error?: unknown, result?: unknown) => {
      if (settled) return;
      settled = true;
      if (error !== undefined && error !== null) reject(error);
      else resolve(result);
    };
    if (callbacks) {
      Object.assign(context, {
        done: callback,
        succeed: (result: unknown) => callback(null, result),
        fail: (error: unknown) => callback(error ?? new Error('handled')),
      });
    }
    try {
      const returned = callbacks ? handler(event, context, callback) : handler(event, context);
      if (returned && typeof (returned as Promise<unknown>).then === 'function') {
        (returned as Promise<unknown>).then(
          (r) => callback(null, r),
          (e) => callback(e ?? new Error('rejected')),
        );
      } else if (!callbacks || handler.length < 3) {
        callback(null, returned);
      }
    } catch (error) {
      callback(error);
    }
  });
}

/** CPU time of this thread (ms): Linux's per-thread schedstat (ns on a core), if readable. */
function threadCpuMs(): number | undefined {
  try {
    const ns = Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
    return Number.isFinite(ns) ? ns / 1e6 : undefined;
  } catch {
    return undefined;
  }
}

/** Starts measuring an invocation; the returned function ends it. Costs ~0.05 ms (two small file reads). */
function measure(): () => InvocationUsage {
  const wall = performance.now();
  const cpu = threadCpuMs();
  const elu = performance.eventLoopUtilization();
  return () => {
    const wallMs = performance.now() - wall;
    const cpuEnd = cpu === undefined ? undefined : threadCpuMs();
    if (cpu !== undefined && cpuEnd !== undefined) return { wallMs, cpuMs: cpuEnd - cpu, cpuSource: 'thread' };
    return { wallMs, cpuMs: performance.eventLoopUtilization(elu).active, cpuSource: 'event-loop' };
  };
}

process.on('uncaughtException', (error) => {
  post({ type: 'crash', error: { ...toErrorPayload(error), errorType: 'Runtime.UncaughtException' } });
  process.exit(1);
});
process.on('unhandledRejection', (reason) => {
  post({ type: 'crash', error: { ...toErrorPayload(reason), errorType: 'Runtime.UnhandledPromiseRejection' } });
  process.exit(1);
});

load().then(
  (handler) => {
    post({ type: 'ready' });
    port.on('message', (request: LambdaHostRequest) => {
      const done = measure();
      const event = JSON.parse(request.payload) as unknown;
      runHandler(handler, event, makeContext(request.context)).then(
        (result) => {
          let payload: string;
          try {
            payload = stringifyJson(result === undefined ? null : result);
          } catch (error) {
            post({ type: 'result', id: request.id, ok: false, error: { ...toErrorPayload(error), errorType: 'Runtime.MarshalError' }, usage: done() });
            return;
          }
          post({ type: 'result', id: request.id, ok: true, payload, usage: done() });
        },
        (error: unknown) => {
          post({ type: 'result', id: request.id, ok: false, error: toErrorPayload(error), usage: done() });
        },
      );
    });
  },
  (error: unknown) => {
    const payload = toErrorPayload(error);
    post({ type: 'init-error', error: payload.errorType.startsWith('Runtime.') ? payload : { ...payload, errorType: 'Runtime.ImportModuleError' } });
  },
);
