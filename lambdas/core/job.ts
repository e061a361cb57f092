import * as z from 'zod/mini';
import './zod';
import { formatIssues } from './issues';
import { isEventName, type EventName } from './catalog';
import type { StatusChange } from './events';
import { deliveryIdFor } from './subscriptions';

/**
 * One delivery job = one status change for one subscription: the body of a message on the
 * delivery queue. `body` is the exact webhook payload, so every attempt sends the same bytes.
 */
export const deliveryJobSchema = z.object({
  v: z.literal(1),
  deliveryId: z.string().check(z.minLength(1)),
  eventId: z.string().check(z.minLength(1)),
  event: z.string().check(z.refine(isEventName, 'unknown event')),
  tenantId: z.string().check(z.minLength(1)),
  subscriptionId: z.string().check(z.minLength(1)),
  body: z.string().check(z.minLength(2)),
  occurredAt: z.string(),
  /** Real HTTP attempts made so far (absent in jobs of older versions: the receive count tells). */
  attempts: z.optional(z.int().check(z.minimum(0))),
  /** ISO time the job was first queued: the start of its deadline. */
  queuedAt: z.optional(z.string()),
  /** Epoch ms before which the job must not be tried (a wait longer than SQS's 15-minute DelaySeconds). */
  notBefore: z.optional(z.int().check(z.minimum(0))),
  /**
   * The delivery log has a record of this delivery (fan-out wrote its `pending` record, or an
   * operator resent, redrove or replayed it): every outcome is written, also with `deliveryLog` =
   * `failures`. Absent: the record, if any, starts with the first outcome that is not a success.
   */
  recorded: z.optional(z.boolean()),
});
export type DeliveryJob = Omit<z.infer<typeof deliveryJobSchema>, 'event'> & { event: EventName };

/**
 * The largest delivery job message, in UTF-8 bytes as SQS counts them (docs/notes/bytes.md):
 * every forwarded field at its limit and made of `"` (each becomes `\\\"` in the job), tenantId
 * of 3-byte characters, event id and time of control characters (written `\u0001`), the longest
 * event name, and a subscription id at DynamoDB's sort-key limit of 1024 bytes, also control
 * characters, on its last retry (attempts 100, the settings' bound, a notBefore, and the `recorded` mark of a redriven job). Far below SQS's 256 KiB (SQS_MAX_MESSAGE_BYTES).
 */
export const MAX_JOB_BYTES = 12_082;
/** The subscription-id bound MAX_JOB_BYTES assumes: DynamoDB's limit for a sort key. */
export const MAX_SUBSCRIPTION_ID_BYTES = 1024;

export function buildJob(change: StatusChange, subscriptionId: string, body: string, queuedAt: Date = new Date()): DeliveryJob {
  return {
    v: 1,
    deliveryId: deliveryIdFor(change.eventId, subscriptionId),
    eventId: change.eventId,
    event: change.event,
    tenantId: change.tenantId,
    subscriptionId,
    body,
    occurredAt: change.time,
    attempts: 0,
    queuedAt: queuedAt.toISOString(),
  };
}

/**
 * A parked job as it goes back to the delivery queue on redrive: its attempts, deadline and wait
 * start again (the operator judged it worth another full schedule). Text that is not a job is
 * returned as it is (the delivery function parks it again, with the reason).
 */
export function freshJobBody(text: string, now: Date): string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return text;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || (raw as { v?: unknown }).v !== 1) return text;
  const { attempts: _a, queuedAt: _q, notBefore: _n, ...rest } = raw as Record<string, unknown>;
  // A parked job has its record (parking is written): its next outcome updates it, whatever the log mode.
  return JSON.stringify({ ...rest, attempts: 0, queuedAt: now.toISOString(), recorded: true });
}

export function parseJob(text: string): DeliveryJob {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error('delivery job is not JSON');
  }
  const parsed = deliveryJobSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`invalid delivery job: ${formatIssues(parsed.error.issues).join('; ')}`);
  }
  return parsed.data as DeliveryJob;
}

/** Message attributes the delivery function puts on a job it parks in the DLQ. */
export const PARKED_ATTRIBUTES = {
  reason: 'statushooks-reason',
  attempts: 'statushooks-attempts',
  parkedAt: 'statushooks-parked-at',
} as const;

/**
 * The record fan-out parks in its DLQ itself: `rejected-event`, an event that failed validation
 * (retrying cannot fix it); `failed-event`, a valid event whose fan-out failed and whose failure
 * record Lambda could not put in the DLQ (core/sqs-text.ts failureRecordRefusal).
 */
export interface RejectedEventRecord {
  readonly kind: 'rejected-event' | 'failed-event';
  readonly reason: string;
  /** When fan-out parked it. */
  readonly rejectedAt: string;
  readonly event: unknown;
}
