import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { INFRA_DEFAULTS } from './defaults';

export type StatusHooksQueueProps = Omit<sqs.QueueProps, 'encryption' | 'enforceSSL'>;

/**
 * An SQS queue with the settings every statushooks queue shares: SQS-managed encryption at rest,
 * TLS-only access (a queue policy denying `aws:SecureTransport=false`), and 14 days retention by
 * default, the SQS maximum, because jobs wait hours between attempts and parked jobs wait for an
 * operator.
 */
export class StatusHooksQueue extends sqs.Queue {
  constructor(scope: Construct, id: string, props: StatusHooksQueueProps = {}) {
    super(scope, id, {
      retentionPeriod: Duration.days(INFRA_DEFAULTS.dlqRetentionDays),
      ...props,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
  }
}
