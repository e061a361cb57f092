import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC, type MetricName } from '../lambdas/core/ports';
import { LIMITS } from '../lambdas/core/settings';
import type { StatusHooksFunction } from './function';

export interface MonitoringProps {
  readonly deliveryQueue: sqs.IQueue;
  readonly deliveryDeadLetterQueue: sqs.IQueue;
  readonly fanOutDeadLetterQueue: sqs.IQueue;
  /**
   * Where the operational-events rule target keeps the notifications SNS refused.
   * @default none: the stack forwards operational events only with an alarm topic
   */
  readonly operationalEventsDeadLetterQueue?: sqs.IQueue;
  readonly fanOutFunction: StatusHooksFunction;
  readonly deliveryFunction: StatusHooksFunction;
  readonly retryFunction: StatusHooksFunction;
  /** Alarm when the oldest job in the delivery queue is older than this (setting deliveryQueueAgeAlarmSeconds). */
  readonly deliveryQueueMaxAge: Duration;
  /**
   * Topic notified when an alarm fires (and when it recovers).
   * @default no action: the alarms are visible in the CloudWatch console only
   */
  readonly alarmTopic?: sns.ITopic;
}

/** The functions' own counts are alarmed on as sums over 5 minutes. */
const FIVE_MINUTES_SUM = { period: Duration.minutes(5), statistic: 'Sum' };

/**
 * The alarms an operator needs: anything in a dead-letter queue is a webhook or an event someone
 * did not get, so one message is already an alarm; an old job in the delivery queue means
 * delivery is falling behind; a function error means a fault rather than a failing endpoint
 * (endpoint failures are batch item failures, not errors). Three more watch what fails without
 * stopping anything: a delivery-log write (support can no longer see those deliveries), a
 * subscription item fan-out has to skip (its endpoint gets nothing until the item is fixed), and
 * an operational event nobody received (an endpoint failing, a subscription disabled).
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
  readonly deliveryLogWriteFailuresAlarm: cloudwatch.Alarm;
  readonly invalidSubscriptionsAlarm: cloudwatch.Alarm;
  readonly operationalEventFailuresAlarm: cloudwatch.Alarm;

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

    // The functions' own counts (namespace: the stack's name): what fails without stopping anything.
    this.deliveryLogWriteFailuresAlarm = this.anyCounted(
      'DeliveryLogWriteFailures',
      METRIC.deliveryLogWriteFailures,
      { f: props.fanOutFunction, d: props.deliveryFunction, r: props.retryFunction },
      "statushooks: the delivery log could not be written (the deliveries went on, but statushooks deliveries and the console do not show them as they are); the functions' logs say why: 'delivery log could not be written'",
    );
    this.operationalEventFailuresAlarm = this.anyCounted(
      'OperationalEventFailures',
      METRIC.operationalEventFailures,
      { d: props.deliveryFunction, r: props.retryFunction },
      "statushooks: an operational event (endpoint failing or recovered, subscription disabled) could not be put on the bus or kept in the health table, so nobody was told; the delivery functions' logs name it: 'operational event could not be published'",
    );
    this.invalidSubscriptionsAlarm = new cloudwatch.Alarm(this, 'InvalidSubscriptions', {
      alarmDescription:
        "statushooks: fan-out skipped a subscription item that breaks the schema: its endpoint gets no webhooks until the item is fixed; fan-out's log names it ('subscription item is invalid and was skipped'), statushooks subscriptions list --tenant shows why",
      metric: props.fanOutFunction.metricOf(METRIC.invalidSubscriptions, FIVE_MINUTES_SUM),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    if (props.alarmTopic) {
      const action = new cloudwatchActions.SnsAction(props.alarmTopic);
      const alarms = [
        this.deliveryDlqAlarm,
        this.fanOutDlqAlarm,
        this.operationalEventsDlqAlarm,
        this.deliveryQueueAgeAlarm,
        this.fanOutErrorsAlarm,
        this.deliveryErrorsAlarm,
        this.retryErrorsAlarm,
        this.fanOutThrottlesAlarm,
        this.deliveryLogWriteFailuresAlarm,
        this.invalidSubscriptionsAlarm,
        this.operationalEventFailuresAlarm,
      ];
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

  /** Fires when any of `functions` counted `name` in 5 minutes (the sum over all of them ≥ 1). */
  private anyCounted(id: string, name: MetricName, functions: Record<string, StatusHooksFunction>, description: string): cloudwatch.Alarm {
    return new cloudwatch.Alarm(this, id, {
      alarmDescription: description,
      // A function that counted nothing has no datapoint: FILL makes it 0 rather than hiding the others' sum.
      metric: new cloudwatch.MathExpression({
        expression: Object.keys(functions).map((k) => `FILL(${k}, 0)`).join(' + '),
        usingMetrics: Object.fromEntries(Object.entries(functions).map(([k, fn]) => [k, fn.metricOf(name, FIVE_MINUTES_SUM)])),
        period: FIVE_MINUTES_SUM.period,
        label: `${name}, ${Object.values(functions).map((fn) => fn.serviceName).join(' + ')}`,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  private functionErrors(id: string, fn: StatusHooksFunction, name: string): cloudwatch.Alarm {
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
