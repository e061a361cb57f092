import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LIMITS } from '../lambdas/core/settings';

export interface MonitoringProps {
  readonly deliveryQueue: sqs.IQueue;
  readonly deliveryDeadLetterQueue: sqs.IQueue;
  readonly fanOutDeadLetterQueue: sqs.IQueue;
  /**
   * Where the operational-events rule target keeps the notifications SNS refused.
   * @default none: the stack forwards operational events only with an alarm topic
   */
  readonly operationalEventsDeadLetterQueue?: sqs.IQueue;
  readonly fanOutFunction: lambda.IFunction;
  readonly deliveryFunction: lambda.IFunction;
  readonly retryFunction: lambda.IFunction;
  /** Alarm when the oldest job in the delivery queue is older than this (setting deliveryQueueAgeAlarmSeconds). */
  readonly deliveryQueueMaxAge: Duration;
  /**
   * Topic notified when an alarm fires (and when it recovers).
   * @default no action: the alarms are visible in the CloudWatch console only
   */
  readonly alarmTopic?: sns.ITopic;
}

/**
 * The alarms an operator needs: anything in a dead-letter queue is a webhook or an event someone
 * did not get, so one message is already an alarm; an old job in the delivery queue means
 * delivery is falling behind; a function error means a fault rather than a failing endpoint
 * (endpoint failures are batch item failures, not errors).
 */
export class Monitoring extends Construct {
  readonly deliveryDlqAlarm: cloudwatch.Alarm;
  readonly fanOutDlqAlarm: cloudwatch.Alarm;
  /** Only when there is an operational-events dead-letter queue (with an alarm topic). */
  readonly operationalEventsDlqAlarm?: cloudwatch.Alarm;
  readonly deliveryQueueAgeAlarm: cloudwatch.Alarm;
  readonly fanOutErrorsAlarm: cloudwatch.Alarm;
  readonly deliveryErrorsAlarm: cloudwatch.Alarm;
  readonly retryErrorsAlarm: cloudwatch.Alarm;
  readonly fanOutThrottlesAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.deliveryDlqAlarm = this.notEmpty('DeliveryDlqNotEmpty', props.deliveryDeadLetterQueue, 'delivery jobs parked after their last attempt');
    this.fanOutDlqAlarm = this.notEmpty('FanOutDlqNotEmpty', props.fanOutDeadLetterQueue, 'events that could not be fanned out (invalid or failed)');
    if (props.operationalEventsDeadLetterQueue) {
      this.operationalEventsDlqAlarm = this.notEmpty('OperationalEventsDlqNotEmpty', props.operationalEventsDeadLetterQueue, 'operational events the alarm topic refused (with the error)');
    }

    // The setting's maximum (lambdas/core/settings.ts) is derived from this window: a job older
    // than the threshold for the whole window is still within the queue's retention.
    const maxAge = props.deliveryQueueMaxAge;
    const period = Duration.seconds(LIMITS.deliveryQueueAgeAlarmPeriodSeconds);
    this.deliveryQueueAgeAlarm = new cloudwatch.Alarm(this, 'DeliveryQueueBacklog', {
      alarmDescription: `statushooks: the oldest delivery job is older than ${maxAge.toSeconds()} s; delivery is not keeping up`,
      metric: props.deliveryQueue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum' }),
      threshold: maxAge.toSeconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: LIMITS.deliveryQueueAgeAlarmEvaluationPeriods,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.fanOutErrorsAlarm = this.functionErrors('FanOutErrors', props.fanOutFunction, 'fan-out');
    this.deliveryErrorsAlarm = this.functionErrors('DeliveryErrors', props.deliveryFunction, 'delivery (fast lane)');
    this.retryErrorsAlarm = this.functionErrors('RetryErrors', props.retryFunction, 'delivery (retry lane)');
    // A throttled fan-out is not an error: Lambda keeps the event and retries it for up to
    // fanOutAsyncMaxEventAgeHours (6 h) before the fan-out DLQ sees it, and no job is queued
    // meanwhile, so neither the errors alarm nor the delivery queue's age alarm would notice.
    // Throttling means the account's concurrency is used up (the function reserves none).
    // The delivery lanes need no such alarm: their jobs wait in SQS, where the age alarm and,
    // after max(5, maxAttempts) throttled receives, the delivery DLQ alarm see them.
    this.fanOutThrottlesAlarm = new cloudwatch.Alarm(this, 'FanOutThrottles', {
      alarmDescription: "statushooks: the fan-out function was throttled (the account's Lambda concurrency is used up); events wait, retried by Lambda for up to 6 h before they reach the fan-out DLQ",
      metric: props.fanOutFunction.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    if (props.alarmTopic) {
      const action = new cloudwatchActions.SnsAction(props.alarmTopic);
      const alarms = [this.deliveryDlqAlarm, this.fanOutDlqAlarm, this.operationalEventsDlqAlarm, this.deliveryQueueAgeAlarm, this.fanOutErrorsAlarm, this.deliveryErrorsAlarm, this.retryErrorsAlarm, this.fanOutThrottlesAlarm];
      for (const alarm of alarms.filter((a) => a !== undefined)) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
  }

  private notEmpty(id: string, queue: sqs.IQueue, what: string): cloudwatch.Alarm {
    return new cloudwatch.Alarm(this, id, {
      alarmDescription: `statushooks: dead-letter queue holds ${what}; inspect and redrive`,
      metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // An empty, idle queue may publish no datapoints at all: that is the healthy state.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  private functionErrors(id: string, fn: lambda.IFunction, name: string): cloudwatch.Alarm {
    return new cloudwatch.Alarm(this, id, {
      alarmDescription: `statushooks: the ${name} function threw (a fault, not a failing endpoint)`,
      metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
