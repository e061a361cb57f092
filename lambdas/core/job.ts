import { z } from 'zod';
import { isEventName, type EventName } from './catalog';
import type { StatusChange } from './events';
import { deliveryIdFor } from './subscriptions';

/**
 * One delivery job = one status change for one subscription: the body of a message on the
 * delivery queue. `body` is the exact webhook payload, so every attempt sends the same bytes.
 */
export const deliveryJobSchema = z.object({
  v: z.literal(1),
  deliveryId: z.string().min(1),
  eventId: z.string().min(1),
  event: z.string().refine(isEventName, 'unknown event'),
  tenantId: z.string().min(1),
  subscriptionId: z.string().min(1),
  body: z.string().min(2),
  occurredAt: z.string(),
});
export type DeliveryJob = Omit<z.infer<typeof deliveryJobSchema>, 'event'> & { event: EventName };

export function buildJob(change: StatusChange, subscriptionId: string, body: string): DeliveryJob {
  return {
    v: 1,
    deliveryId: deliveryIdFor(change.eventId, subscriptionId),
    eventId: change.eventId,
    event: change.event,
    tenantId: change.tenantId,
    subscriptionId,
    body,
    occurredAt: change.time,
  };
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
    throw new Error(`invalid delivery job: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data as DeliveryJob;
}

/** Message attributes the delivery function puts on a job it parks in the DLQ. */
export const PARKED_ATTRIBUTES = {
  reason: 'statushooks-reason',
  attempts: 'statushooks-attempts',
  parkedAt: 'statushooks-parked-at',
} as const;

/** The record fan-out parks in its DLQ for an event that failed validation. */
export interface RejectedEventRecord {
  readonly kind: 'rejected-event';
  readonly reason: string;
  readonly rejectedAt: string;
  readonly event: unknown;
}
