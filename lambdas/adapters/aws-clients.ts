import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';

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
// The options object, not a NodeHttpHandler instance: the SDK builds its own handler from it, so
// the functions need nothing outside `@aws-sdk/*`, which the Lambda runtime provides.
const requestHandler = (requestTimeoutMs = 3_000) => ({ connectionTimeout: 1_000, requestTimeout: requestTimeoutMs });

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
 * The delivery log's client: the log records, it never gates. After an attempt (delivery
 * functions) a slow or throttled table holds the job's acknowledgement at most ~2 s (two tries of
 * 1 s); before queueing (fan-out, `failFast`) one try of 500 ms, since the delivery itself waits
 * for it there, and a record fan-out could not write is created by the delivery's next write.
 */
export function deliveryLogClient(options: ClientOptions & { failFast?: boolean } = {}): DynamoDBDocumentClient {
  const { failFast, ...rest } = options;
  return documentClient(failFast ? { requestTimeoutMs: 500, maxAttempts: 1, ...rest } : { requestTimeoutMs: 1_000, maxAttempts: 2, ...rest });
}

/** Operational events to the bus: the usual short timeouts and 3 tries. */
export function eventBridgeClient(options: Pick<ClientOptions, 'region' | 'endpoint'> = {}): EventBridgeClient {
  return new EventBridgeClient({ ...options, maxAttempts: 3, requestHandler: requestHandler() });
}
