import { createHash, randomBytes } from 'node:crypto';
import * as z from 'zod/mini';
import './zod';
import { formatIssues } from './issues';
import { ALL_EVENTS, EVENT_NAMES, type EventName, closestEventName, isEventName } from './catalog';
import type { StatusChange } from './events';
import { maxRequestsPerSecondSchema } from './rate-limit';

export const SUBSCRIPTION_STATES = ['active', 'paused', 'disabled'] as const;
export type SubscriptionState = (typeof SUBSCRIPTION_STATES)[number];

/** A secret as Standard Webhooks expects it: `whsec_` + base64 of 24 to 64 random bytes. */
export const secretSchema = z.string().check(
  z.refine(
    (s) => {
      if (!s.startsWith('whsec_')) return false;
      const raw = s.slice('whsec_'.length);
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(raw)) return false;
      const n = Buffer.from(raw, 'base64').length;
      return n >= 24 && n <= 64;
    },
    { message: 'must be "whsec_" followed by base64 of 24 to 64 bytes' },
  ),
);

const eventsSchema = z.array(z.string()).check(
  z.minLength(1, 'must list at least one event name, or "*"'),
  z.superRefine((events, ctx) => {
    events.forEach((e, i) => {
      // The index in the path says which entry is wrong: `events.1: unknown event …`.
      if (e !== ALL_EVENTS && !isEventName(e)) ctx.addIssue({ code: 'custom', path: [i], message: `unknown event "${e}" (did you mean "${closestEventName(e)}"?)` });
    });
  }),
);

/** The subscription item (docs/architecture.md §3), as stored in DynamoDB. */
export const subscriptionSchema = z.object({
  tenantId: z.string().check(z.minLength(1)),
  subscriptionId: z.string().check(z.minLength(1)),
  url: z.string().check(z.minLength(1)),
  events: eventsSchema,
  // Absent means every status; an empty list would mean none, which is surely a mistake: refuse it.
  statusFilter: z.optional(z.array(z.string().check(z.minLength(1, 'status filter values must be non-empty'))).check(z.minLength(1, 'must list at least one status, or be absent'))),
  secret: secretSchema,
  previousSecret: z.optional(secretSchema),
  previousSecretExpiresAt: z.optional(z.string()),
  state: z.enum(SUBSCRIPTION_STATES),
  disabledReason: z.optional(z.string()),
  description: z.optional(z.string()),
  /** Requests per second the pipeline sends at most, across all instances; absent: no limit. */
  maxRequestsPerSecond: maxRequestsPerSecondSchema,
  createdAt: z.optional(z.string()),
  updatedAt: z.optional(z.string()),
});
export type Subscription = z.infer<typeof subscriptionSchema>;

/**
 * A stored item that breaks the schema (e.g. written into the table by another tool). `problems`
 * are `path: message` lines, one per broken field; the ids are known when the item was looked up.
 */
export class InvalidSubscriptionError extends Error {
  constructor(
    readonly problems: readonly string[],
    readonly tenantId?: string,
    readonly subscriptionId?: string,
  ) {
    super(
      subscriptionId !== undefined && tenantId !== undefined
        ? `subscription ${subscriptionId} of tenant ${tenantId} is invalid: ${problems.join('; ')}`
        : `invalid subscription item: ${problems.join('; ')}`,
    );
    this.name = 'InvalidSubscriptionError';
  }
}

/** What is wrong with a stored item, one `path: message` line per broken field; empty when it is valid. */
export function subscriptionProblems(item: unknown): string[] {
  const parsed = subscriptionSchema.safeParse(item);
  return parsed.success ? [] : formatIssues(parsed.error.issues);
}

/** Parses a stored item; an item that breaks the schema is reported, never guessed at. */
export function parseSubscription(item: unknown, key?: { tenantId: string; subscriptionId: string }): Subscription {
  const parsed = subscriptionSchema.safeParse(item);
  if (!parsed.success) throw new InvalidSubscriptionError(subscriptionProblems(item), key?.tenantId, key?.subscriptionId);
  return parsed.data;
}

/** Attribute changes to an item: a value sets it, `null` removes it, `undefined` leaves it. */
export type SubscriptionChanges = { [K in Exclude<keyof Subscription, 'tenantId' | 'subscriptionId'>]?: Subscription[K] | null };

/** The item as it is after `changes` (what an update would write), for checking before writing. */
export function applyChanges(item: Readonly<Record<string, unknown>>, changes: SubscriptionChanges): Record<string, unknown> {
  const next: Record<string, unknown> = { ...item };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete next[key];
    else if (value !== undefined) next[key] = value;
  }
  return next;
}

/**
 * Whether a change may be written, judged on the problems of the item before and after it:
 * - `valid`: the item is valid afterwards;
 * - `better`: the item was broken and the change fixes some of that without breaking anything
 *   new (two broken fields are fixed by two commands, e.g. `update --events` then `rotate-secret`);
 * - `refused`: the change breaks something, or leaves a broken item as broken as it was (pausing
 *   an item fan-out skips anyway helps nobody, and would hide that it needs fixing).
 */
export function changeVerdict(before: readonly string[], after: readonly string[]): 'valid' | 'better' | 'refused' {
  if (after.length === 0) return 'valid';
  const known = new Set(before);
  return after.every((p) => known.has(p)) && after.length < before.length ? 'better' : 'refused';
}

/** The previous secret's expiry when it still signs (a valid secret whose grace has not ended), else undefined. */
export function livePreviousSecretExpiry(item: Readonly<Record<string, unknown>>, now: Date): string | undefined {
  const { previousSecret, previousSecretExpiresAt } = item;
  if (typeof previousSecretExpiresAt !== 'string' || !secretSchema.safeParse(previousSecret).success) return undefined;
  const expires = Date.parse(previousSecretExpiresAt);
  return Number.isFinite(expires) && expires > now.getTime() ? previousSecretExpiresAt : undefined;
}

/** Whether this subscription wants this status change (state, event list, status filter). */
export function matches(subscription: Subscription, change: Pick<StatusChange, 'event' | 'newStatus'>): boolean {
  return whyNot(subscription, change) === undefined;
}

/** Why a subscription does not take an event (`matches` is false), in an operator's words; undefined when it does. */
export function whyNot(subscription: Subscription, change: Pick<StatusChange, 'event' | 'newStatus'>): string | undefined {
  if (subscription.state !== 'active') return `subscription is ${subscription.state}`;
  const wantsEvent = subscription.events.includes(ALL_EVENTS) || subscription.events.includes(change.event);
  if (!wantsEvent) return `not subscribed to ${change.event}`;
  const filter = subscription.statusFilter;
  return filter === undefined || filter.includes(change.newStatus) ? undefined : `status filter (${filter.join(', ')}) does not include ${change.newStatus}`;
}

/** The events a subscription receives, with `*` expanded. */
export function subscribedEvents(subscription: Pick<Subscription, 'events'>): EventName[] {
  return subscription.events.includes(ALL_EVENTS) ? [...EVENT_NAMES] : subscription.events.filter(isEventName);
}

/**
 * The delivery id, which receivers see as `webhook-id`: derived from (event id, subscription id)
 * so that a repeated fan-out of the same event yields the same id and receivers can dedupe.
 */
export function deliveryIdFor(eventId: string, subscriptionId: string): string {
  const digest = createHash('sha256').update(`${eventId}\n${subscriptionId}`).digest('hex');
  return `msg_${digest.slice(0, 32)}`;
}

export function newSubscriptionId(): string {
  return `sub_${randomBytes(12).toString('hex')}`;
}

export function newSecret(bytes = 32): string {
  return `whsec_${randomBytes(bytes).toString('base64')}`;
}

/** The secrets to sign with now: the current one, plus the previous one until it expires. */
export function signingSecrets(subscription: Pick<Subscription, 'secret' | 'previousSecret' | 'previousSecretExpiresAt'>, now: Date): string[] {
  const secrets = [subscription.secret];
  if (subscription.previousSecret && subscription.previousSecretExpiresAt) {
    const expires = Date.parse(subscription.previousSecretExpiresAt);
    if (Number.isFinite(expires) && expires > now.getTime()) secrets.push(subscription.previousSecret);
  }
  return secrets;
}
