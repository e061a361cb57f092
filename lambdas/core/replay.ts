/**
 * Replays (docs/architecture.md §10): `statushooks events replay` starts an EventBridge replay of
 * the archive through the fan-out rule. EventBridge replays every archived event of the window;
 * narrowing it to a tenant or an event type is statushooks' own filter, carried in the replay's
 * description and applied by fan-out to the events marked with the replay's name. Pure.
 */

/** What a replay re-delivers: every event of its window, or only a tenant's, or only one type; to one subscription only, or to each that takes it. */
export interface ReplayFilter {
  readonly tenantId?: string;
  /** An event name; one this fan-out does not know (a newer CLI) matches nothing, never everything. */
  readonly event?: string;
  /** Fan-out queues the replayed events for this subscription only (the CLI gives it with tenantId). */
  readonly subscriptionId?: string;
}

/**
 * The filter keys this fan-out applies (stack output `ReplayFilterKeys`): the CLI refuses a filter
 * the target's fan-out would not apply, rather than replay more than the operator asked for.
 */
export const REPLAY_FILTER_KEYS: readonly (keyof ReplayFilter)[] = ['tenantId', 'event', 'subscriptionId'];

/**
 * Names of the replays `statushooks events replay` starts. Only these carry a filter (fan-out may
 * read only these, IAM `events:DescribeReplay` on `replay/statushooks-*`); any other replay
 * re-delivers everything in its window, as EventBridge itself does.
 */
export const REPLAY_NAME_PREFIX = 'statushooks-';

/** A new replay name: `statushooks-20261204T031500-a1b2c3` (≤ 64 characters, as EventBridge allows). */
export function newReplayName(now: Date, random: string): string {
  return `${REPLAY_NAME_PREFIX}${now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, '')}-${random}`;
}

/** EventBridge's limit for a replay's description. */
export const MAX_REPLAY_DESCRIPTION = 512;

/** The description that carries the filter (JSON; EventBridge keeps it as text). */
export function replayDescription(filter: ReplayFilter): string {
  return JSON.stringify({ statushooks: Object.fromEntries(REPLAY_FILTER_KEYS.flatMap((key) => (filter[key] !== undefined ? [[key, filter[key]]] : []))) });
}

/**
 * The filter of a replay from its description. A replay started elsewhere (the console, the AWS
 * CLI) has no statushooks filter: it replays everything, like EventBridge itself.
 */
export function replayFilterOf(description: string | undefined): ReplayFilter {
  if (!description) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(description);
  } catch {
    return {};
  }
  const own = (parsed as { statushooks?: Record<string, unknown> } | null)?.statushooks;
  if (typeof own !== 'object' || own === null) return {};
  return Object.fromEntries(REPLAY_FILTER_KEYS.flatMap((key) => (typeof own[key] === 'string' ? [[key, own[key]]] : []))) as ReplayFilter;
}

/** Whether a replayed bus event is one the replay asked for (by its detail-type and detail.tenantId). */
export function replayMatches(filter: ReplayFilter, event: unknown): boolean {
  const e = (event ?? {}) as { 'detail-type'?: unknown; detail?: { tenantId?: unknown } };
  if (filter.event !== undefined && e['detail-type'] !== filter.event) return false;
  if (filter.tenantId !== undefined && e.detail?.tenantId !== filter.tenantId) return false;
  return true;
}

/**
 * The statushooks replay an event comes from (EventBridge adds `replay-name` to replayed events),
 * if any: only those have a filter to apply.
 */
export function replayNameOf(event: unknown): string | undefined {
  const name = (event as { 'replay-name'?: unknown } | null)?.['replay-name'];
  return typeof name === 'string' && name.startsWith(REPLAY_NAME_PREFIX) ? name : undefined;
}

/**
 * What fan-out does with an event of a statushooks replay: skips it (`outside`: not the tenant or
 * event type the replay asked for), or fans it out, to `onlySubscription` alone when the replay
 * names one. Any other event: `{}`, fanned out as usual. The filter is read with `filterOf`,
 * whose failure is thrown (the event is not dropped on a guess). Used by the fan-out function and
 * by `dlq redrive`.
 */
export async function replayScope(event: unknown, filterOf: (replayName: string) => Promise<ReplayFilter>): Promise<{ readonly outside?: string; readonly onlySubscription?: string }> {
  const replayName = replayNameOf(event);
  if (replayName === undefined) return {};
  const filter = await filterOf(replayName);
  if (!replayMatches(filter, event)) return { outside: `outside the filter of replay ${replayName}` };
  return filter.subscriptionId !== undefined ? { onlySubscription: filter.subscriptionId } : {};
}
