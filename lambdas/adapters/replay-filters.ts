import { DescribeReplayCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { replayFilterOf, type ReplayFilter } from '../core/replay';

/**
 * The filter of each replay, read once per replay name per instance with DescribeReplay (a replay
 * never changes its description). A failed read throws: fan-out then fails the event, which Lambda
 * retries and finally parks in the fan-out DLQ, so a replayed event is never dropped by mistake.
 */
export class ReplayFilters {
  private readonly known = new Map<string, Promise<ReplayFilter>>();

  constructor(private readonly client: EventBridgeClient) {}

  filterOf(replayName: string): Promise<ReplayFilter> {
    let filter = this.known.get(replayName);
    if (!filter) {
      filter = this.client.send(new DescribeReplayCommand({ ReplayName: replayName })).then((out) => replayFilterOf(out.Description));
      // A failure is not remembered: the retry reads again.
      filter.catch(() => this.known.delete(replayName));
      this.known.set(replayName, filter);
      // Bounded: replays are rare, but an instance may live long.
      if (this.known.size > 100) this.known.delete(this.known.keys().next().value!);
    }
    return filter;
  }
}
