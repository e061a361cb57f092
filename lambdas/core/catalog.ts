import { closest } from './text';

/**
 * The event catalog: the five status-change events statushooks knows, and the key under which
 * each carries its entity (docs/architecture.md §1). Everything else derives from this table.
 */
export const EVENT_CATALOG = {
  'return_order.status.changed': 'returnOrder',
  'return_order_parcel.status.changed': 'returnOrderParcel',
  'sales_order.status.changed': 'salesOrder',
  'sales_order_parcel.status.changed': 'salesOrderParcel',
  'payment_operation.status.changed': 'paymentOperation',
} as const;

export type EventName = keyof typeof EVENT_CATALOG;
export type EntityKey = (typeof EVENT_CATALOG)[EventName];

export const EVENT_NAMES = Object.keys(EVENT_CATALOG) as EventName[];

/** The wildcard a subscription may use instead of listing event names. */
export const ALL_EVENTS = '*';

export function isEventName(value: unknown): value is EventName {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(EVENT_CATALOG, value);
}

export function entityKeyOf(event: EventName): EntityKey {
  return EVENT_CATALOG[event];
}

/** The closest valid event name, for "did you mean" hints (Levenshtein distance). */
export function closestEventName(input: string): EventName {
  const entity = input.toLowerCase().split('.')[0] ?? '';
  // "payment.status.changed" means payment_operation: a shared entity prefix beats raw distance.
  const sameEntity = EVENT_NAMES.filter((name) => entity.length >= 3 && name.startsWith(entity));
  return closest(input, sameEntity.length > 0 ? sameEntity : EVENT_NAMES);
}
