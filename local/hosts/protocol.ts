/**
 * Messages between the runtime (main thread) and its worker threads. Kept to plain JSON-able
 * shapes: events and results cross the boundary as JSON text, as they do in Lambda.
 */
import type { AccessDenial, IamPolicies } from '../iam';

/** Requests to the emulator host. */
export type EmulatorRequest =
  | { id: number; op: 'start' }
  | { id: number; op: 'down'; service: EmulatedService }
  | { id: number; op: 'up'; service: EmulatedService }
  /** Makes DynamoDB fail every request naming `table` (mode) or behave again (mode null). */
  | { id: number; op: 'table-fault'; table: string; mode: TableFaultMode | null }
  /** The request counters (api-stats.ts: calls, bytes, item sizes, request units) → ApiStatsSnapshot. */
  | { id: number; op: 'stats' }
  | { id: number; op: 'stats-reset' }
  /**
   * The functions' compiled roles (iam.ts): from now on every request signed with a function's
   * access key id is checked, a denied one answered with AccessDenied. Sent before any function runs.
   */
  | { id: number; op: 'iam'; policies: IamPolicies }
  | { id: number; op: 'stop' };

export type EmulatedService = 'dynamodb' | 'sqs';

/** How a faulted table fails: throttled (400 ProvisionedThroughputExceededException) or unavailable (500). */
export type TableFaultMode = 'throttle' | 'unavailable';

export type EmulatorResponse = { id: number; ok: true; result?: unknown } | { id: number; ok: false; error: string };

/** What the emulator host reports on its own, not in answer to a request: a function's call refused by IAM. */
export type EmulatorNotice = { notice: 'access-denied'; denial: AccessDenial };

export type EmulatorHostMessage = EmulatorResponse | EmulatorNotice;

export interface EmulatorHostData {
  readonly dynalitePath: string;
  readonly fauxqsDir: string;
  readonly region: string;
}

export interface EmulatorPorts {
  readonly dynamodb: number;
  readonly sqs: number;
}

/** What the Lambda host needs to load one function. */
export interface LambdaHostData {
  readonly modulePath: string;
  readonly exportName: string;
  /** The function's `Runtime` (`nodejs24.x`): from Node.js 24 on, Lambda refuses callback-style handlers. */
  readonly runtime: string;
}

export interface InvokeContextData {
  readonly awsRequestId: string;
  readonly functionName: string;
  readonly functionVersion: string;
  readonly invokedFunctionArn: string;
  readonly memoryLimitInMB: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
  readonly deadlineMs: number;
}

/**
 * What one invocation used, measured in its worker around the handler call: wall time, and the
 * CPU time of the worker's own thread (Linux /proc/thread-self/schedstat; where that is missing,
 * the event loop's active time, which also counts time the thread waited for a core).
 */
export interface InvocationUsage {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly cpuSource: 'thread' | 'event-loop';
}

/** The error shape Lambda reports for a failed invocation. */
export interface FunctionErrorPayload {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace?: string[];
}

export type LambdaHostRequest = { type: 'invoke'; id: number; payload: string; context: InvokeContextData };

export type LambdaHostMessage =
  | { type: 'ready' }
  | { type: 'init-error'; error: FunctionErrorPayload }
  | { type: 'result'; id: number; ok: true; payload: string; usage?: InvocationUsage }
  | { type: 'result'; id: number; ok: false; error: FunctionErrorPayload; usage?: InvocationUsage }
  /** The runtime process itself died (uncaught exception, unhandled rejection). */
  | { type: 'crash'; error: FunctionErrorPayload };
