import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { INFRA_DEFAULTS } from './defaults';

export type StatusHooksQueueProps = Omit<sqs.QueueProps, 'encryption' | 'enforceSSL'>;

/**
 * An SQS queue with the settings every statushooks queue shares: SQS-managed encryption at rest
 * and TLS-only access (a queue policy denying `aws:SecureTransport=false`). Retention defaults to
 * 14 days, the SQS maximum, which is what a dead-letter queue wants; a queue of live work passes
 * its own.
 */
export class StatusHooksQueue extends sqs.Queue {
  constructor(scope: Construct, id: string, props: StatusHooksQueueProps = {}) {
    super(scope, id, {
      retentionPeriod: Duration.days(INFRA_DEFAULTS.queueRetentionDays),
      ...props,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
  }
}
