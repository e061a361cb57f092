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
  const wanted = input.toLowerCase();
  const entity = wanted.split('.')[0] ?? '';
  // "payment.status.changed" means payment_operation: a shared entity prefix beats raw distance.
  const sameEntity = EVENT_NAMES.filter((name) => entity.length >= 3 && name.startsWith(entity));
  const candidates = sameEntity.length > 0 ? sameEntity : EVENT_NAMES;
  let best: EventName = candidates[0]!;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const name of candidates) {
    const d = levenshtein(wanted, name);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}
