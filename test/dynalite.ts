/**
 * An in-process DynamoDB API (dynalite) on 127.0.0.1, port 0, for tests that need DynamoDB's own
 * behaviour (conditional writes, indexes, errors) without the whole local runtime.
 */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DELIVERY_LOG_INDEX, DELIVERY_LOG_INDEX_KEYS, DELIVERY_LOG_PROJECTED } from '../lambdas/adapters/delivery-log-store';

interface Listening {
  listen(port: number, host: string, cb: () => void): unknown;
  address(): AddressInfo | string | null;
  close(cb?: () => void): unknown;
}

export interface Dynalite {
  readonly endpoint: string;
  /** A client of this emulator (dummy credentials); destroyed by close(). */
  readonly client: DynamoDBClient;
  close(): Promise<void>;
}

export async function startDynalite(region = 'eu-central-1'): Promise<Dynalite> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require('dynalite') as (options: { createTableMs: number }) => Listening;
  const server = dynalite({ createTableMs: 0 });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ region, endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  return {
    endpoint,
    client,
    close: async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The DeliveryLog table with its keys and indexes, as lib/delivery-log-table.ts declares it. */
export async function createDeliveryLogTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const indexes = Object.values(DELIVERY_LOG_INDEX).map((name) => ({
    IndexName: name,
    KeySchema: [
      { AttributeName: DELIVERY_LOG_INDEX_KEYS[name].partition, KeyType: 'HASH' as const },
      { AttributeName: DELIVERY_LOG_INDEX_KEYS[name].sort, KeyType: 'RANGE' as const },
    ],
    Projection: { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...DELIVERY_LOG_PROJECTED] },
  }));
  const attributes = new Set(['tenantId', 'deliveryId', ...Object.values(DELIVERY_LOG_INDEX_KEYS).flatMap((k) => [k.partition, k.sort])]);
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      KeySchema: [
        { AttributeName: 'tenantId', KeyType: 'HASH' },
        { AttributeName: 'deliveryId', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [...attributes].map((AttributeName) => ({ AttributeName, AttributeType: 'S' as const })),
      GlobalSecondaryIndexes: indexes,
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

/**
 * A table keyed as the subscriptions and endpoint-health tables are (partition `tenantId`, sort
 * `subscriptionId`, both strings; lib/table.ts).
 */
export async function createTenantTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      KeySchema: [
        { AttributeName: 'tenantId', KeyType: 'HASH' },
        { AttributeName: 'subscriptionId', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'tenantId', AttributeType: 'S' },
        { AttributeName: 'subscriptionId', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}
