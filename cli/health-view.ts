import type { HealthItem } from '../lambdas/adapters/health-store';
import type { Circuit } from '../lambdas/core/breaker';
import { plural } from '../lambdas/core/text';

/** An endpoint's health as the CLI shows it (`subscriptions get --json`, `list --json`). */
export interface HealthView {
  readonly circuit: Circuit;
  readonly consecutiveFailures: number;
  readonly lastSuccessAt: string | null;
  readonly lastFailureAt: string | null;
  readonly lastError: string | null;
  /** Until when the endpoint is kept out of the fast lane for answering slowly; null when it is not. */
  readonly slowUntil: string | null;
}

/** No item means the endpoint never failed: closed, nothing known. */
export function healthView(item: HealthItem | undefined, now = Date.now()): HealthView {
  return {
    circuit: item?.circuit ?? 'closed',
    consecutiveFailures: item?.consecutiveFailures ?? 0,
    lastSuccessAt: item?.lastSuccessAt ?? null,
    lastFailureAt: item?.lastFailureAt ?? null,
    lastError: item?.lastError ?? null,
    slowUntil: item?.slowUntil !== undefined && item.slowUntil > now ? new Date(item.slowUntil).toISOString() : null,
  };
}

/** What a subscription item says about why it is disabled (its endpoint answered 410 Gone). */
export interface DisabledBy {
  readonly state: string;
  readonly disabledReason?: string;
}

/**
 * One column: `healthy`, `slow`, `failing (2)`, `open (7)`, `half-open (7)`; `gone (410)` for a
 * subscription disabled because its endpoint answered 410 Gone (the endpoint's health says nothing
 * about that: a 410 is an answer, not a failure).
 */
export function healthColumn(h: HealthView, subscription?: DisabledBy): string {
  if (subscription?.state === 'disabled' && subscription.disabledReason?.includes('410 Gone')) return 'gone (410)';
  if (h.circuit !== 'closed') return `${h.circuit} (${h.consecutiveFailures})`;
  if (h.consecutiveFailures > 0) return `failing (${h.consecutiveFailures})`;
  return h.slowUntil ? 'slow' : 'healthy';
}

/** One line for `get`: the column plus since when and the last error. */
export function healthLine(h: HealthView): string {
  const parts = [healthColumn(h)];
  if (h.circuit !== 'closed') parts[0] = `circuit ${h.circuit}: ${plural(h.consecutiveFailures, 'consecutive failure')}`;
  else if (h.consecutiveFailures > 0) parts[0] = `failing: ${plural(h.consecutiveFailures, 'consecutive failure')}`;
  if (h.slowUntil) parts.push(`slow until ${h.slowUntil} (served by the retry lane)`);
  if (h.lastFailureAt && h.consecutiveFailures > 0) parts.push(`last failure ${h.lastFailureAt}: ${h.lastError ?? '?'}`);
  if (h.lastSuccessAt) parts.push(`last success ${h.lastSuccessAt}`);
  return parts.join('; ');
}
