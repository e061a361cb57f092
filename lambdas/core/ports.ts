/** Small interfaces the core depends on; adapters implement them, tests pass plain objects. */

export type LogFields = Record<string, unknown>;

export interface Log {
  /**
   * Below the default log level: what a healthy delivery costs in log bytes is zero unless DEBUG
   * is on. Fields may be given as a function, called only when the line is written (the hot path
   * builds nothing for a line that is not).
   */
  debug(message: string, fields?: LogFields | (() => LogFields)): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export const METRIC = {
  eventsReceived: 'EventsReceived',
  eventsRejected: 'EventsRejected',
  deliveriesQueued: 'DeliveriesQueued',
  deliveriesSucceeded: 'DeliveriesSucceeded',
  /** an HTTP attempt was made and failed (non-2xx, timeout, connection, TLS, DNS, blocked endpoint) */
  deliveriesFailed: 'DeliveriesFailed',
  /** a dependency of ours (DynamoDB, SQS) failed while handling a job; nothing was sent, or the result could not be settled */
  deliveryFaults: 'DeliveryFaults',
  /** the delivery log could not be written (the delivery went on; docs/architecture.md §8) */
  deliveryLogWriteFailures: 'DeliveryLogWriteFailures',
  deliveriesDeadLettered: 'DeliveriesDeadLettered',
  deliveriesDropped: 'DeliveriesDropped',
  subscriptionsDisabled: 'SubscriptionsDisabled',
  /** a job waited instead of being tried (open circuit, rate limit, scheduled retry not yet due): not an attempt */
  deliveriesDeferred: 'DeliveriesDeferred',
  /** a job waited because its subscription's maxRequestsPerSecond was reached */
  deliveriesRateLimited: 'DeliveriesRateLimited',
  /** an operational event (endpoint failing or recovered, subscription disabled) could not be published or kept; the delivery went on */
  operationalEventFailures: 'OperationalEventFailures',
  /** an endpoint's circuit breaker opened */
  circuitsOpened: 'CircuitsOpened',
  invalidSubscriptions: 'InvalidSubscriptions',
  /** ms from the event's time on the bus to a successful delivery */
  deliveryLatency: 'DeliveryLatency',
  /** ms the endpoint took to answer one attempt */
  endpointResponseTime: 'EndpointResponseTime',
} as const;
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

export interface Metrics {
  count(name: MetricName, value?: number): void;
  milliseconds(name: MetricName, value: number): void;
  /**
   * The same count once more with a `TenantId` dimension: which tenant's endpoints fail. Used for
   * failures and parked jobs only, so the per-tenant metrics grow with the tenants that have
   * failures, not with deliveries.
   */
  countForTenant(name: MetricName, tenantId: string, value?: number): void;
}

export const silentLog: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
export const noMetrics: Metrics = { count: () => {}, milliseconds: () => {}, countForTenant: () => {} };
