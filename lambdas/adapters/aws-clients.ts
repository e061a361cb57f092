import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface ClientOptions {
  readonly region?: string;
  /** Explicit endpoint (local emulators); otherwise the SDK's own resolution, incl. AWS_ENDPOINT_URL_*. */
  readonly endpoint?: string;
  /** Explicit credentials (the emulators take any); otherwise the SDK's default chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /**
   * Most milliseconds one request may take (default 3 000). A caller that long-polls SQS
   * (ReceiveMessage with WaitTimeSeconds) must allow the wait plus a margin.
   */
  readonly requestTimeoutMs?: number;
  /** Tries per call, the first included (default 3). */
  readonly maxAttempts?: number;
}

// Short SDK timeouts: a stuck AWS call must fail well inside the function timeout. With 3 tries
// one call takes at most ~13 s (see DEFAULTS.deliveryFunctionTimeoutSeconds for the budget).
const requestHandler = (requestTimeoutMs = 3_000) => new NodeHttpHandler({ connectionTimeout: 1_000, requestTimeout: requestTimeoutMs });

export function sqsClient(options: ClientOptions = {}): SQSClient {
  const { requestTimeoutMs, maxAttempts = 3, ...config } = options;
  // The queue URL is not used as the endpoint: the regional (or configured local) endpoint is,
  // which is the same on AWS and lets the local SQS emulator's *.localhost URLs work.
  return new SQSClient({ ...config, useQueueUrlAsEndpoint: false, maxAttempts, requestHandler: requestHandler(requestTimeoutMs) });
}

export function documentClient(options: ClientOptions = {}): DynamoDBDocumentClient {
  const { requestTimeoutMs, maxAttempts = 3, ...config } = options;
  const client = new DynamoDBClient({ ...config, maxAttempts, requestHandler: requestHandler(requestTimeoutMs) });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/**
 * The delivery log's client: it records, it never gates, so a slow or throttled table costs a
 * delivery at most ~2 s (two tries of 1 s), then the write is counted as failed and skipped.
 */
export function deliveryLogClient(options: ClientOptions = {}): DynamoDBDocumentClient {
  return documentClient({ requestTimeoutMs: 1_000, maxAttempts: 2, ...options });
}
