import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface ClientOptions {
  readonly region?: string;
  /** Explicit endpoint (local emulators); otherwise the SDK's own resolution, incl. AWS_ENDPOINT_URL_*. */
  readonly endpoint?: string;
}

// Short SDK timeouts: a stuck AWS call must fail well inside the function timeout. With 3 tries
// one call takes at most ~13 s (see DEFAULTS.deliveryFunctionTimeoutSeconds for the budget).
const requestHandler = () => new NodeHttpHandler({ connectionTimeout: 1_000, requestTimeout: 3_000 });

export function sqsClient(options: ClientOptions = {}): SQSClient {
  // The queue URL is not used as the endpoint: the regional (or configured local) endpoint is,
  // which is the same on AWS and lets the local SQS emulator's *.localhost URLs work.
  return new SQSClient({ ...options, useQueueUrlAsEndpoint: false, maxAttempts: 3, requestHandler: requestHandler() });
}

export function documentClient(options: ClientOptions = {}): DynamoDBDocumentClient {
  const client = new DynamoDBClient({ ...options, maxAttempts: 3, requestHandler: requestHandler() });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}
