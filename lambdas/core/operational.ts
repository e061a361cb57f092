/**
 * Operational events: what the stack tells operators about endpoints (docs/architecture.md §8).
 * Published on the stack's own bus with this source and kept for `statushooks events operational`.
 */

/** The EventBridge `source` of every operational event; no producer may use it (settings check). */
export const OPERATIONAL_SOURCE = 'statushooks';

export const OPERATIONAL_DETAIL_TYPES = {
  /** The endpoint's circuit breaker opened: its jobs wait, one probe per interval. */
  failing: 'statushooks.endpoint.failing',
  /** The circuit closed again: a probe (or a delivery) succeeded, the backlog flows. */
  recovered: 'statushooks.endpoint.recovered',
  /** The subscription was disabled: 410 Gone, or failing without one success for `disableAfterHours`. */
  disabled: 'statushooks.subscription.disabled',
} as const;
export type OperationalDetailType = (typeof OPERATIONAL_DETAIL_TYPES)[keyof typeof OPERATIONAL_DETAIL_TYPES];
export const OPERATIONAL_DETAIL_TYPE_LIST: readonly OperationalDetailType[] = Object.values(OPERATIONAL_DETAIL_TYPES);

export interface OperationalDetail {
  readonly tenantId: string;
  readonly subscriptionId: string;
  /** Redacted as in the logs (no query string, no token-like path segments). */
  readonly url: string;
  readonly reason: string;
  /** ISO time the condition began (first failure of the run, or the disabling itself). */
  readonly since: string;
}

export interface OperationalEvent {
  readonly detailType: OperationalDetailType;
  /** ISO time it was published. */
  readonly time: string;
  readonly detail: OperationalDetail;
}

/** Where operational events go; publishing never blocks a delivery (the caller logs a failure). */
export interface OperationalPort {
  publishOperational(event: OperationalEvent): Promise<void>;
}

/** How long the stack keeps operational events for listing. */
export const OPERATIONAL_RETENTION_DAYS = 30;
