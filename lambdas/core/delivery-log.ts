/**
 * The delivery log (docs/architecture.md §8): one record per delivery (a `webhook-id`), written by
 * fan-out when it queues the job and by the delivery functions on every attempt and on parking or
 * dropping; read by `statushooks deliveries`. Pure: record shapes, keys and what an attempt looks
 * like in the log. The DynamoDB side is adapters/delivery-log-writer.ts (the functions) and delivery-log-store.ts (reading).
 *
 * The log is a record, never a gate: a failure to write it is counted (`DeliveryLogWriteFailures`)
 * and logged, and the delivery goes on.
 */
import { EVENT_CATALOG, type EventName } from './catalog';
import { errorMessage } from './errors';
import type { AttemptResult } from './outcome';
import { METRIC, type Log, type Metrics } from './ports';

export const DELIVERY_STATES = ['pending', 'retrying', 'delivered', 'parked', 'dropped', 'discarded'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

export function isDeliveryState(value: string): value is DeliveryState {
  return (DELIVERY_STATES as readonly string[]).includes(value);
}

/**
 * States with an index of their own (sparse: only records in these states carry the key), so
 * `deliveries list --state parked` reads exactly the parked records. `pending` and `delivered`
 * are the happy path: indexing them would cost two index writes per delivery.
 */
export const INDEXED_STATES: readonly DeliveryState[] = ['retrying', 'parked', 'dropped', 'discarded'];

/**
 * What the log records (setting `deliveryLog`): `all`, every delivery from the moment fan-out
 * queues it; `failures`, only the deliveries worth a look: an attempt that failed, a job parked or
 * dropped, and every later outcome of such a delivery, plus deliveries an operator touched (resent,
 * redriven, replayed). A delivery delivered at its first attempt is counted in metrics only, which
 * saves the log's writes and storage on the happy path (README "Cost and footprint").
 */
export type DeliveryLogMode = 'all' | 'failures';

/**
 * Whether an outcome is written to the log. In `failures` mode a first-attempt success of a
 * delivery that has no record is not; anything else is: a failure, and every outcome of a job
 * that already has a record (an earlier attempt failed, or the job is `recorded`).
 */
export function logsOutcome(mode: DeliveryLogMode, state: DeliveryState, job: { readonly recorded?: boolean }, attemptsBefore: number): boolean {
  return mode === 'all' || state !== 'delivered' || attemptsBefore > 0 || job.recorded === true;
}

/** How much of a response body the log keeps. */
export const RESPONSE_SNIPPET_BYTES = 1024;

/** One HTTP attempt as the log keeps it. */
export interface AttemptRecord {
  readonly attempt: number;
  readonly at: string;
  /** The HTTP status; null when no response came (timeout, connection, DNS, TLS, blocked). */
  readonly statusCode: number | null;
  readonly durationMs: number;
  /** Why the attempt failed without a response; null when the endpoint answered. */
  readonly error: string | null;
  /** The first 1 KB of the response body as text, `[binary: N bytes]`, or null (no body, no response). */
  readonly response: string | null;
  /** The lane that made it. */
  readonly lane?: string;
}

/** What is known of a delivery when it is queued: none of it changes afterwards. */
export interface DeliveryFacts {
  readonly tenantId: string;
  readonly deliveryId: string;
  readonly subscriptionId: string;
  readonly event: EventName;
  readonly eventId: string;
  readonly entityUuid: string;
  readonly entityNumber: string | null;
  /** The exact body sent (every attempt sends the same bytes). */
  readonly body: string;
  /** The event's time on the bus. */
  readonly occurredAt: string;
}

/** A record as stored and read back. */
export interface DeliveryRecord extends DeliveryFacts {
  readonly state: DeliveryState;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly attempts: readonly AttemptRecord[];
  readonly lastStatusCode: number | null;
  /** Why it is parked, dropped or discarded, or why the last attempt failed. */
  readonly reason?: string;
  /** The endpoint, redacted as in the logs (the URL of the subscription at the last attempt). */
  readonly url?: string;
  /** Epoch seconds after which DynamoDB's TTL removes the record. */
  readonly expiresAt: number;
  /** The last replay (its name) whose fan-out queued this delivery, if a replay did. */
  readonly queuedBy?: string;
  /** Each time an operator queued it again (resend, redrive, replay), in the order written. */
  readonly requeues?: readonly RequeueRecord[];
}

/** An operator's act that queued a delivery again: its attempts count from 1 again after it. */
export interface RequeueRecord {
  readonly at: string;
  /** `resend`, `redrive` (delivery DLQ), `fan-out redrive`, or `replay <name>`. */
  readonly by: string;
}

/** How far apart the operator's clock and the functions' may be when a requeue is matched to attempts. */
const REQUEUE_CLOCK_SLACK_MS = 5_000;

/**
 * The requeue that explains why attempt `index` counts from 1 again: the last one written after the
 * attempt before it and before this one (with some slack for clocks). Undefined when none is
 * recorded (a record written before requeues were, or one whose note failed).
 */
export function requeueBefore(record: Pick<DeliveryRecord, 'attempts' | 'requeues'>, index: number): RequeueRecord | undefined {
  const attempt = record.attempts[index];
  const previous = record.attempts[index - 1];
  if (attempt === undefined || previous === undefined) return undefined;
  const after = Date.parse(previous.at);
  const before = Date.parse(attempt.at) + REQUEUE_CLOCK_SLACK_MS;
  const candidates = (record.requeues ?? []).filter((r) => Date.parse(r.at) > after && Date.parse(r.at) <= before);
  return candidates[candidates.length - 1];
}

/** The requeue a `pending` record waits on: written after its last attempt (or with none yet). */
export function waitingRequeue(record: Pick<DeliveryRecord, 'attempts' | 'requeues' | 'state'>): RequeueRecord | undefined {
  if (record.state !== 'pending') return undefined;
  const last = record.attempts[record.attempts.length - 1];
  const since = last === undefined ? Number.NEGATIVE_INFINITY : Date.parse(last.at);
  const later = (record.requeues ?? []).filter((r) => Date.parse(r.at) > since);
  return later[later.length - 1];
}

/** `a resend on 2026-…`: a requeue in words. */
export function requeueWords(r: RequeueRecord): string {
  const act = r.by === 'resend' ? 'a resend' : r.by === 'redrive' ? 'a redrive of the delivery DLQ' : r.by === 'fan-out redrive' ? 'a redrive of the fan-out DLQ' : r.by;
  return `${act} on ${r.at}`;
}

/** A change the delivery functions (or the CLI) make to a record. */
export interface DeliveryLogUpdate {
  readonly facts: DeliveryFacts;
  readonly state: DeliveryState;
  readonly at: string;
  /**
   * When what sets this state happened (an attempt: when it was sent). Writes can land out of
   * order (the next lane may write its attempt before this one's write is through): a state older
   * than the record's is not applied, its attempt is still added. Default: `at`.
   */
  readonly stateAt?: string;
  /** The attempt made, when one was. */
  readonly attempt?: AttemptRecord;
  readonly reason?: string;
  readonly url?: string;
  /** A `pending` written by a replay's fan-out: the replay's name (see DeliveryLogPort.logQueued). */
  readonly queuedBy?: string;
  /** A `pending` written because an operator queued it again: what did (RequeueRecord.by). */
  readonly requeuedBy?: string;
}

/** Where the delivery log is written; every call may throw (the callers below never let it matter). */
export interface DeliveryLogPort {
  /**
   * Records queued deliveries as `pending` (batched writes for all of an event's jobs). A record
   * that exists already (the event was fanned out before: a Lambda retry or duplicate, a redrive,
   * a replay) is never replaced: it turns `pending` again with its earlier attempts kept, or, when
   * `leave` is true for its state, is left as it is. Resolves to the deliveries left alone, with
   * their state. `queuedBy` (a replay's name) is kept on every record queued here, so a repeat of
   * the same replay can tell the deliveries it set going (`leave` gets the record's `queuedBy`).
   */
  logQueued(facts: readonly DeliveryFacts[], at: string, options?: QueuedOptions): Promise<ReadonlyMap<string, DeliveryState>>;
  /** Records a state change and the attempt that caused it. */
  logUpdate(update: DeliveryLogUpdate): Promise<void>;
}

export interface QueuedOptions {
  /** True: the existing record is left as it is (not `pending` again, its job not queued). */
  readonly leave?: (state: DeliveryState, queuedBy?: string) => boolean;
  /** The replay whose fan-out queues these deliveries (EventBridge's `replay-name`). */
  readonly queuedBy?: string;
  /** An operator's act (a replay, a fan-out DLQ redrive): noted on each existing record queued again. */
  readonly requeuedBy?: string;
}

export const noDeliveryLog: DeliveryLogPort = { logQueued: async () => new Map(), logUpdate: async () => {} };

/**
 * Writes to the log without ever failing the caller: a failure is counted and logged (with the
 * ids, so the record can be reconstructed from the logs), and the delivery goes on.
 */
export async function writeLog(what: string, write: () => Promise<void>, ports: { log: Log; metrics: Metrics }, fields: Record<string, unknown>): Promise<void> {
  try {
    await write();
  } catch (error) {
    ports.metrics.count(METRIC.deliveryLogWriteFailures);
    ports.log.warn('delivery log could not be written; the delivery goes on', { ...fields, logWrite: what, reason: errorMessage(error) });
  }
}

/** The entity of a webhook body (fan-out built it, so it has the shape of docs/architecture.md §2). */
export function factsFromJob(job: { tenantId: string; deliveryId: string; subscriptionId: string; event: EventName; eventId: string; body: string; occurredAt: string }): DeliveryFacts {
  let uuid = '';
  let number: string | null = null;
  try {
    const entity = (JSON.parse(job.body) as Record<string, { uuid?: unknown; number?: unknown } | undefined>)[EVENT_CATALOG[job.event]];
    if (typeof entity?.uuid === 'string') uuid = entity.uuid;
    if (typeof entity?.number === 'string') number = entity.number;
  } catch {
    // A body fan-out did not build: recorded without the entity.
  }
  return {
    tenantId: job.tenantId,
    deliveryId: job.deliveryId,
    subscriptionId: job.subscriptionId,
    event: job.event,
    eventId: job.eventId,
    entityUuid: uuid,
    entityNumber: number,
    body: job.body,
    occurredAt: job.occurredAt,
  };
}

/** One attempt as the log keeps it. */
export function attemptRecord(attempt: number, at: Date, result: AttemptResult, lane?: string): AttemptRecord {
  if (result.kind === 'response') {
    return { attempt, at: at.toISOString(), statusCode: result.status, durationMs: result.durationMs, error: null, response: result.response ?? null, lane };
  }
  return { attempt, at: at.toISOString(), statusCode: null, durationMs: result.durationMs, error: `${result.error}: ${result.message}`, response: null, lane };
}

/**
 * The first RESPONSE_SNIPPET_BYTES of a response body as the log shows it: text when the bytes are
 * UTF-8 text (a character cut at the end of the snippet is dropped), otherwise `[binary: N bytes]`
 * (a log is not the place for an image). Empty body: null. `totalBytes` is how much came in all;
 * when the sender stopped reading before the end (`complete` false), it is a lower bound and the
 * size reads "more than N bytes".
 */
export function responseSnippet(head: Uint8Array, totalBytes: number, complete = true): string | null {
  if (totalBytes === 0) return null;
  const size = complete ? `${totalBytes} bytes` : `more than ${totalBytes} bytes`;
  const bytes = head.subarray(0, RESPONSE_SNIPPET_BYTES);
  const cut = totalBytes > bytes.length;
  let text: string | undefined;
  // A multi-byte character cut by the snippet's end: up to 3 bytes less is still text.
  for (let drop = 0; drop <= (cut ? 3 : 0) && text === undefined; drop++) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, bytes.length - drop));
    } catch {
      text = undefined;
    }
  }
  // Control characters other than tab, newline and carriage return: not text a person can read.
  // eslint-disable-next-line no-control-regex
  if (text === undefined || /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) return `[binary: ${size}]`;
  return cut ? `${text}… [${size} in all]` : text;
}

/** Epoch seconds `days` after `from`: the record's TTL. */
export function expiresAt(from: Date, days: number): number {
  return Math.floor(from.getTime() / 1000) + Math.round(days * 86_400);
}
