import * as z from 'zod/mini';
import './zod';
import { formatIssues } from './issues';
import { EVENT_CATALOG, EVENT_NAMES, type EntityKey, type EventName, closestEventName, entityKeyOf, isEventName } from './catalog';
import { InvalidEventError } from './errors';
import { uncarriableReason } from './sqs-text';
import { closest, lengthExcess } from './text';

/**
 * Limits of the fields statushooks forwards (docs/architecture.md §1), in characters as
 * JavaScript counts them (UTF-16 code units: an emoji counts 2). They bound the webhook body
 * and the delivery job (see MAX_WEBHOOK_BODY_BYTES and MAX_JOB_BYTES in job.ts).
 */
export const FIELD_LIMITS = {
  tenantId: 256,
  status: 128,
  uuid: 128,
  number: 256,
  externalId: 256,
  /** The EventBridge event id (a UUID on AWS) and time (ISO 8601): they go into every job. */
  eventId: 128,
  time: 64,
} as const;

/**
 * A text field that is forwarded to webhooks: at most `max` characters, none that SQS cannot
 * carry (so the job can always be queued), and — when `required` — not empty or only whitespace.
 */
function forwardedText(max: number, required: boolean) {
  return z.string().check(
    z.superRefine((text, ctx) => {
      if (required && text.length === 0) ctx.addIssue({ code: 'custom', message: 'must be a non-empty string' });
      else if (required && text.trim() === '') ctx.addIssue({ code: 'custom', message: 'must not be only whitespace' });
      const tooLong = lengthExcess(text, max);
      if (tooLong !== null) ctx.addIssue({ code: 'custom', message: tooLong });
      const reason = uncarriableReason(text);
      if (reason !== null) ctx.addIssue({ code: 'custom', message: reason });
    }),
  );
}

/** The entity reference every event carries (docs/architecture.md §1). */
export const entitySchema = z.object({
  uuid: forwardedText(FIELD_LIMITS.uuid, true),
  number: z._default(z.optional(z.nullable(forwardedText(FIELD_LIMITS.number, false))), null),
  externalId: z._default(z.optional(z.nullable(forwardedText(FIELD_LIMITS.externalId, false))), null),
});
export type EntityRef = { uuid: string; number: string | null; externalId: string | null };

const baseDetailSchema = z.object({
  tenantId: forwardedText(FIELD_LIMITS.tenantId, true),
  oldStatus: forwardedText(FIELD_LIMITS.status, true),
  newStatus: forwardedText(FIELD_LIMITS.status, true),
});

// One schema per event, built once: building a zod schema costs ~40 µs, validating ~1 µs.
// z.object strips unknown keys without looking inside them, so an extra field of any size or
// depth is never walked (and never forwarded).
const detailSchemas = Object.fromEntries(
  EVENT_NAMES.map((event) => [event, z.extend(baseDetailSchema, { [EVENT_CATALOG[event]]: entitySchema })]),
) as unknown as Record<EventName, z.ZodMiniType>;

/** A validated status change: what fan-out works with. */
export interface StatusChange {
  readonly eventId: string;
  readonly event: EventName;
  readonly entityKey: EntityKey;
  readonly tenantId: string;
  readonly oldStatus: string;
  readonly newStatus: string;
  readonly entity: EntityRef;
  /** ISO time the producer put the event on the bus. */
  readonly time: string;
}

/** The envelope EventBridge hands to a rule target. */
const envelopeSchema = z.object({
  id: z.string().check(z.minLength(1), z.maxLength(FIELD_LIMITS.eventId)),
  'detail-type': z.string(),
  source: z.string(),
  time: z.optional(z.string().check(z.maxLength(FIELD_LIMITS.time))),
  detail: z.unknown(),
});

/**
 * Validates the `detail` of one event of type `detailType`. Throws InvalidEventError whose
 * message lists every problem, e.g. `detail.returnOrder.uuid: must be a non-empty string`.
 */
export function parseDetail(detailType: unknown, detail: unknown): Omit<StatusChange, 'eventId' | 'time'> {
  if (!isEventName(detailType)) throw new InvalidEventError(unknownEventType(detailType));
  const entityKey = entityKeyOf(detailType);
  const parsed = detailSchemas[detailType].safeParse(detail);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error.issues, 'detail');
    throw new InvalidEventError(`invalid ${detailType} event: ${issues.join('; ')}`, issues);
  }
  const data = parsed.data as z.infer<typeof baseDetailSchema> & Record<string, EntityRef>;
  const entity = data[entityKey]!;
  return {
    event: detailType,
    entityKey,
    tenantId: data.tenantId,
    oldStatus: data.oldStatus,
    newStatus: data.newStatus,
    entity: { uuid: entity.uuid, number: entity.number ?? null, externalId: entity.externalId ?? null },
  };
}

/**
 * Validates a whole EventBridge event as delivered to the fan-out function. With `sources` (the
 * stack's setting), an event of another source is refused too: the bus routes such events to
 * fan-out only so that a producer's mistake is parked with its reason instead of matching nothing.
 */
export function parseBusEvent(input: unknown, sources?: readonly string[]): StatusChange {
  const envelope = envelopeSchema.safeParse(input);
  if (!envelope.success) {
    const issues = formatIssues(envelope.error.issues);
    throw new InvalidEventError(`not an EventBridge event: ${issues.join('; ')}`, issues);
  }
  const { id, time, source } = envelope.data;
  if (sources !== undefined && sources.length > 0 && !sources.includes(source)) {
    const problems = [unknownSource(source, sources)];
    // Both wrong (e.g. a producer of another system): say both, so one fix is enough.
    if (!isEventName(envelope.data['detail-type'])) problems.push(unknownEventType(envelope.data['detail-type']));
    throw new InvalidEventError(problems.join('; '));
  }
  return { ...parseDetail(envelope.data['detail-type'], envelope.data.detail), eventId: id, time: time ?? new Date(0).toISOString() };
}

function unknownSource(source: string, sources: readonly string[]): string {
  return `unknown source "${source}" (did you mean "${closest(source, sources)}"?); this stack accepts ${sources.map((s) => `"${s}"`).join(', ')}`;
}

function unknownEventType(detailType: unknown): string {
  const shown = typeof detailType === 'string' ? `"${detailType}"` : String(detailType);
  const hint = typeof detailType === 'string' ? ` (did you mean "${closestEventName(detailType)}"?)` : '';
  return `unknown event type ${shown}${hint}; expected one of ${EVENT_NAMES.join(', ')}`;
}

/**
 * The largest webhook body the contract allows, in UTF-8 bytes: the longest event name
 * (`return_order_parcel.status.changed`) and every forwarded field at its limit, made of 3-byte
 * characters (e.g. `€`; `"` and `\` become 2 bytes, control characters other than tab/LF/CR are
 * refused). In characters (UTF-16 units) the largest body is 1,928: every field of `"`.
 */
export const MAX_WEBHOOK_BODY_BYTES = 2_824;
export const MAX_WEBHOOK_BODY_CHARS = 1_928;

/**
 * The webhook body, exactly (docs/architecture.md §2): event, oldStatus, newStatus and the entity
 * under its key with number, uuid, externalId in that order. Nothing else is ever forwarded.
 */
export function buildPayload(change: Pick<StatusChange, 'event' | 'oldStatus' | 'newStatus' | 'entity'>): string {
  const entityKey = EVENT_CATALOG[change.event];
  return JSON.stringify({
    event: change.event,
    oldStatus: change.oldStatus,
    newStatus: change.newStatus,
    [entityKey]: { number: change.entity.number, uuid: change.entity.uuid, externalId: change.entity.externalId },
  });
}

/** An example detail for each event, used by `events example` and the demo. */
export function exampleDetail(event: EventName, tenantId = 'acme-shop'): Record<string, unknown> {
  return {
    tenantId,
    oldStatus: 'approved',
    newStatus: 'option_selected',
    [entityKeyOf(event)]: { number: '100004', uuid: '90aabf83-d23c-4792-b483-2546b8041379', externalId: null },
  };
}
