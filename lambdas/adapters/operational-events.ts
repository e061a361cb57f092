import { randomBytes } from 'node:crypto';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { errorMessage } from '../core/errors';
import {
  OPERATIONAL_DETAIL_TYPE_LIST,
  OPERATIONAL_RETENTION_DAYS,
  OPERATIONAL_SOURCE,
  type OperationalDetail,
  type OperationalDetailType,
  type OperationalEvent,
  type OperationalPort,
} from '../core/operational';

/**
 * Operational events (docs/architecture.md §8) go two ways at once: onto the stack's bus (source
 * `statushooks`), where the platform routes them with its own rules (and the stack's own rule to
 * the alarm topic, when configured), and into the health table, where `statushooks events
 * operational` lists them on a deployed stack and on the local runtime alike. Items live under
 * one partition per UTC day (`ops#2026-12-03`), sorted by time, kept OPERATIONAL_RETENTION_DAYS
 * by TTL: listing a window reads one Query per day.
 */
export const OPERATIONAL_KEY_PREFIX = 'ops#';

const DAY_MS = 86_400_000;

export function operationalPartition(atMs: number): string {
  return `${OPERATIONAL_KEY_PREFIX}${new Date(atMs).toISOString().slice(0, 10)}`;
}


export class OperationalEvents implements OperationalPort {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly bus?: { readonly client: EventBridgeClient; readonly name: string },
  ) {}

  /** Both writes are tried; throws (naming what failed) when either failed. */
  async publishOperational(event: OperationalEvent): Promise<void> {
    const results = await Promise.allSettled([this.keep(event), this.putOnBus(event)]);
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${i === 0 ? 'keeping it in the health table' : 'PutEvents'} failed: ${errorMessage(r.reason)}`] : []));
    if (failed.length > 0) throw new Error(`operational event ${event.detailType}: ${failed.join('; ')}`);
  }

  private async keep(event: OperationalEvent): Promise<void> {
    const atMs = Date.parse(event.time);
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          tenantId: operationalPartition(atMs),
          subscriptionId: `${event.time}#${randomBytes(6).toString('hex')}`,
          detailType: event.detailType,
          time: event.time,
          detail: event.detail,
          expiresAt: Math.floor(atMs / 1000) + OPERATIONAL_RETENTION_DAYS * 86_400,
        },
      }),
    );
  }

  private async putOnBus(event: OperationalEvent): Promise<void> {
    if (!this.bus) return;
    const out = await this.bus.client.send(
      new PutEventsCommand({
        Entries: [{ EventBusName: this.bus.name, Source: OPERATIONAL_SOURCE, DetailType: event.detailType, Detail: JSON.stringify(event.detail), Time: new Date(event.time) }],
      }),
    );
    const entry = out.Entries?.[0];
    if ((out.FailedEntryCount ?? 0) > 0 || entry?.ErrorCode) throw new Error(`${entry?.ErrorCode ?? 'failed'}: ${entry?.ErrorMessage ?? ''}`.trim());
  }

  /** Events from `sinceMs` to `untilMs`, oldest first (one Query per UTC day of the window). */
  async list(sinceMs: number, untilMs: number): Promise<OperationalEvent[]> {
    const events: OperationalEvent[] = [];
    const since = new Date(sinceMs).toISOString();
    const until = new Date(untilMs).toISOString();
    for (let day = Math.floor(sinceMs / DAY_MS) * DAY_MS; day <= untilMs; day += DAY_MS) {
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await this.db.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'tenantId = :p AND subscriptionId BETWEEN :since AND :until',
            ExpressionAttributeValues: { ':p': operationalPartition(day), ':since': since, ':until': `${until}\uffff` },
            ExclusiveStartKey,
          }),
        );
        for (const item of page.Items ?? []) {
          const event = toOperationalEvent(item);
          if (event) events.push(event);
        }
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
    }
    return events.sort((a, b) => a.time.localeCompare(b.time));
  }
}

function toOperationalEvent(item: Record<string, unknown>): OperationalEvent | undefined {
  const detailType = item.detailType as OperationalDetailType;
  if (!OPERATIONAL_DETAIL_TYPE_LIST.includes(detailType) || typeof item.time !== 'string' || typeof item.detail !== 'object' || item.detail === null) return undefined;
  return { detailType, time: item.time, detail: item.detail as OperationalDetail };
}
