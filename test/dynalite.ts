/**
 * An in-process DynamoDB API (dynalite) on 127.0.0.1, port 0, for tests that need DynamoDB's own
 * behaviour (conditional writes, indexes, errors) without the whole local runtime.
 */
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

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
