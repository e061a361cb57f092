/**
 * AWS list prices that `npm run cost` uses: us-east-1, on-demand, no free tier, no savings plan.
 * The only place a price is written. Written from the author's knowledge of the price pages AS OF
 * the date below, without network access: check them against the source pages before you quote a
 * figure (prices change; DynamoDB on-demand, for one, halved in November 2024). On 2026-12-04 the
 * DynamoDB lines (on-demand $0.625/M WRU and $0.125/M RRU, provisioned $0.00065 per WCU-hour)
 * matched public secondary sources (pricing write-ups of 2025); the AWS pages themselves were
 * not reachable from here.
 */
export const PRICES_AS_OF = '2025-01-15';
export const PRICES_REGION = 'us-east-1';

export interface Price {
  readonly usd: number;
  /** What one `usd` buys. */
  readonly per: string;
  readonly source: string;
}

const EVENTBRIDGE = 'https://aws.amazon.com/eventbridge/pricing/';
const LAMBDA = 'https://aws.amazon.com/lambda/pricing/';
const SQS = 'https://aws.amazon.com/sqs/pricing/';
const DYNAMODB = 'https://aws.amazon.com/dynamodb/pricing/on-demand/';
const CLOUDWATCH = 'https://aws.amazon.com/cloudwatch/pricing/';
const XRAY = 'https://aws.amazon.com/xray/pricing/';

export const PRICES = {
  /** Custom events put on a bus; each 64 KB chunk of an entry is one event. */
  eventBridgeEvent: { usd: 1.0 / 1e6, per: 'custom event (64 KB chunk) put', source: EVENTBRIDGE },
  eventBridgeArchiveGb: { usd: 0.1, per: 'GB of events archived (processed)', source: EVENTBRIDGE },
  eventBridgeArchiveStorageGbMonth: { usd: 0.023, per: 'GB-month of archive stored', source: EVENTBRIDGE },
  /** arm64 (Graviton), first pricing tier (up to 7.5 billion GB-s a month). */
  lambdaGbSecondArm: { usd: 0.0000133334, per: 'GB-second (arm64)', source: LAMBDA },
  lambdaRequest: { usd: 0.2 / 1e6, per: 'invocation', source: LAMBDA },
  /** Standard queue, first tier (after 1 M free, ignored here); each 64 KB chunk of a payload is one request. */
  sqsRequest: { usd: 0.4 / 1e6, per: 'request (64 KB chunk)', source: SQS },
  /** On-demand capacity, since 2024-11-01. */
  dynamoWriteRequestUnit: { usd: 0.625 / 1e6, per: 'write request unit (1 KB)', source: DYNAMODB },
  /** Provisioned capacity (for the what-if of the cost report only: the stack's tables are on-demand). */
  dynamoProvisionedWcuHour: { usd: 0.00065, per: 'write capacity unit-hour (provisioned)', source: 'https://aws.amazon.com/dynamodb/pricing/provisioned/' },
  dynamoReadRequestUnit: { usd: 0.125 / 1e6, per: 'read request unit (4 KB strongly consistent, 8 KB eventually)', source: DYNAMODB },
  dynamoStorageGbMonth: { usd: 0.25, per: 'GB-month stored (Standard table class, after 25 GB free, ignored)', source: DYNAMODB },
  /** Continuous backups: every table of the stack has point-in-time recovery on. */
  dynamoPitrGbMonth: { usd: 0.2, per: 'GB-month of point-in-time recovery', source: DYNAMODB },
  cloudWatchLogsIngestGb: { usd: 0.5, per: 'GB of logs ingested (Standard log class)', source: CLOUDWATCH },
  cloudWatchLogsStorageGbMonth: { usd: 0.03, per: 'GB-month of logs stored', source: CLOUDWATCH },
  /** EMF metrics: no PutMetricData charge, only the metrics themselves (first 10,000 metrics). */
  cloudWatchMetricMonth: { usd: 0.3, per: 'custom metric-month', source: CLOUDWATCH },
  cloudWatchAlarmMonth: { usd: 0.1, per: 'standard-resolution alarm metric-month (a metric-math alarm counts each metric it reads)', source: CLOUDWATCH },
  xrayTraceRecorded: { usd: 5.0 / 1e6, per: 'trace recorded', source: XRAY },
  /** Not counted: only an operator looking at traces retrieves them. */
  xrayTraceRetrieved: { usd: 0.5 / 1e6, per: 'trace retrieved or scanned', source: XRAY },
} as const satisfies Record<string, Price>;

/** Lambda allocates CPU in proportion to memory: 1,769 MB is one vCPU (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html). */
export const LAMBDA_MB_PER_VCPU = 1769;

export const GB = 1024 ** 3;
/** An average month (365.25 / 12 days), for retention in days → months. */
export const DAYS_PER_MONTH = 30.4375;
