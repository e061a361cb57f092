/**
 * The first screen of `npm start`: a receiver on 127.0.0.1 that verifies Standard Webhooks
 * signatures, a subscription of tenant `acme-shop` to it (written to DynamoDB as an admin
 * backend would, docs/architecture.md §3), and the contract's example event put on the bus once.
 */
import http from 'node:http';
import type net from 'node:net';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { Webhook } from 'standardwebhooks';
import { exampleDetail } from '../lambdas/core/events';
import { newSecret, newSubscriptionId } from '../lambdas/core/subscriptions';
import { LOCAL_CREDENTIALS } from './emulators';
import type { LocalRuntime } from './runtime';

export const DEMO_TENANT = 'acme-shop';
export const DEMO_EVENT = 'return_order.status.changed';
export const DEMO_SOURCE = 'returns.cloud';

export interface Demo {
  readonly receiverUrl: string;
  readonly subscriptionId: string;
  readonly eventId: string;
  /** Resolves with the webhook-id of the first verified delivery. */
  readonly firstDelivery: Promise<string>;
  stop(): Promise<void>;
}

export async function startDemo(runtime: LocalRuntime, log: (line: string) => void): Promise<Demo> {
  const secret = newSecret(32);
  const webhook = new Webhook(secret);
  let delivered: (id: string) => void = () => undefined;
  const firstDelivery = new Promise<string>((resolve) => (delivered = resolve));

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
      try {
        webhook.verify(body, headers);
      } catch (error) {
        log(`✗ demo receiver: signature NOT verified (${error instanceof Error ? error.message : String(error)})`);
        res.writeHead(400).end();
        return;
      }
      log(`✓ demo receiver: signature verified, webhook-id ${headers['webhook-id']}`);
      log(`  ${body}`);
      delivered(headers['webhook-id'] ?? '');
      res.writeHead(204).end();
    });
  });
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const receiverUrl = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/webhooks`;
  const stop = async () => {
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const s of sockets) s.destroy();
    await closed;
  };

  try {
    const subscriptionId = newSubscriptionId();
    const dynamodb = new DynamoDBClient({ endpoint: runtime.endpoints.dynamodb, region: runtime.region, credentials: LOCAL_CREDENTIALS });
    const now = new Date().toISOString();
    await DynamoDBDocumentClient.from(dynamodb).send(
      new PutCommand({
        TableName: runtime.outputs.SubscriptionsTableName,
        Item: {
          tenantId: DEMO_TENANT,
          subscriptionId,
          url: receiverUrl,
          events: ['*'],
          secret,
          state: 'active',
          description: 'statushooks dev demo receiver',
          createdAt: now,
          updatedAt: now,
        },
      }),
    );
    dynamodb.destroy();
    log(`demo: receiver ${receiverUrl}, subscription ${subscriptionId} of tenant ${DEMO_TENANT} (all events)`);

    const events = new EventBridgeClient({ endpoint: runtime.endpoints.eventbridge, region: runtime.region, credentials: LOCAL_CREDENTIALS });
    const out = await events.send(
      new PutEventsCommand({
        Entries: [{ EventBusName: runtime.outputs.EventBusName, Source: DEMO_SOURCE, DetailType: DEMO_EVENT, Detail: JSON.stringify(exampleDetail(DEMO_EVENT, DEMO_TENANT)) }],
      }),
    );
    events.destroy();
    const entry = out.Entries?.[0];
    if (!entry?.EventId) throw new Error(`the demo event was refused: ${entry?.ErrorCode}: ${entry?.ErrorMessage}`);
    log(`demo: put ${DEMO_EVENT} on the bus (event ${entry.EventId})`);
    return { receiverUrl, subscriptionId, eventId: entry.EventId, firstDelivery, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
