import { Aws, CfnOutput, CfnRule, Duration, Fn, Stack, StackProps } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import {
  declarations,
  formatSetting,
  resolveSettings,
  SETTING_NAMES,
  settingsEnvironment,
  type PartialSettings,
  type Settings,
} from '../lambdas/core/settings';
import { REPLAY_FILTER_KEYS } from '../lambdas/core/replay';
import { Delivery } from './delivery';
import { DeliveryLogTable } from './delivery-log-table';
import { EndpointHealthTable } from './endpoint-health-table';
import { StatusHooksConfigError } from './config-errors';
import { StatusEventBus } from './event-bus';
import { FanOut } from './fan-out';
import { Monitoring } from './monitoring';
import { SubscriptionsTable } from './subscriptions-table';

/**
 * Stage configuration of statushooks: every setting declared in `lambdas/core/settings.ts`
 * (one entry each: kind, default, range, documentation) except the app-level `stackName` and
 * `nag`. Every value is optional; unset ones take their declared default.
 */
export type StatusHooksConfig = Omit<PartialSettings, AppSetting>;

/** Settings of the app (CDK context only), not of the stack. */
type AppSetting = 'stackName' | 'nag';

export interface StatusHooksStackProps extends StackProps, StatusHooksConfig {
  /**
   * Topic the alarms and the operational events notify (overrides the `alarmTopicArn` setting).
   * @default the `alarmTopicArn` setting; unset: alarms show in the CloudWatch console only
   */
  readonly alarmTopic?: sns.ITopic;
}

/** The configuration with every default applied, after validation. */
export type ResolvedStatusHooksConfig = Omit<Settings, AppSetting>;

/**
 * Applies the defaults and validates the whole configuration, by the declarations' rules.
 * Collects every problem and throws one StatusHooksConfigError listing them all, so a bad stage
 * config is fixed in one round rather than one error per synth.
 */
export function resolveStatusHooksConfig(config: StatusHooksConfig): ResolvedStatusHooksConfig {
  const configured: Record<string, unknown> = {};
  // Only the stack's settings: StackProps such as `stackName` are not stage settings here.
  for (const name of SETTING_NAMES) if (name !== 'stackName' && name !== 'nag') configured[name] = config[name];
  const { settings, problems } = resolveSettings(configured as StatusHooksConfig);
  if (problems.length > 0) throw new StatusHooksConfigError('statushooks configuration', problems);
  const { stackName: _stackName, nag: _nag, ...resolved } = settings;
  return resolved;
}

/**
 * statushooks: EventBridge bus → fan-out Lambda → SQS delivery queue → delivery Lambda → signed
 * webhook (docs/architecture.md). Environment-agnostic, so it synthesizes offline.
 */
export class StatusHooksStack extends Stack {
  readonly config: ResolvedStatusHooksConfig;
  readonly eventBus: StatusEventBus;
  readonly subscriptions: SubscriptionsTable;
  readonly health: EndpointHealthTable;
  readonly deliveryLog: DeliveryLogTable;
  readonly fanOut: FanOut;
  readonly delivery: Delivery;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: StatusHooksStackProps = {}) {
    super(scope, id, {
      description: 'statushooks: signed, retried webhook delivery of status-change events',
      ...props,
    });
    // Before any resource exists: a bad configuration fails fast with every problem listed.
    const config = resolveStatusHooksConfig(props);
    this.config = config;

    this.subscriptions = new SubscriptionsTable(this, 'Subscriptions');
    const table = this.subscriptions.table;
    this.health = new EndpointHealthTable(this, 'EndpointHealth');
    this.deliveryLog = new DeliveryLogTable(this, 'DeliveryLog');

    const observability = { tracing: config.tracing, logLevel: config.logLevel, systemLogLevel: config.systemLogLevel };
    // Each function gets the settings declared for it, as the handlers read them back.
    this.delivery = new Delivery(this, 'Delivery', {
      table,
      healthTable: this.health.table,
      deliveryLogTable: this.deliveryLog.table,
      maxAttempts: config.maxAttempts,
      batchSize: config.deliveryBatchSize,
      maxConcurrency: config.deliveryMaxConcurrency,
      retryMaxConcurrency: config.retryMaxConcurrency,
      settings: settingsEnvironment(config, 'delivery'),
      observability,
    });

    this.fanOut = new FanOut(this, 'FanOut', {
      table,
      deliveryLogTable: this.deliveryLog.table,
      deliveryQueue: this.delivery.queue,
      settings: settingsEnvironment(config, 'fan-out'),
      observability,
    });

    this.eventBus = new StatusEventBus(this, 'Events', {
      eventBusName: config.eventBusName,
      sources: config.sources,
      archiveRetention: Duration.days(config.archiveRetentionDays),
      fanOutFunction: this.fanOut.function,
      deadLetterQueue: this.fanOut.deadLetterQueue,
    });

    this.delivery.publishOperationalEventsTo(this.eventBus.bus);
    const alarmTopic = props.alarmTopic ?? (config.alarmTopicArn ? sns.Topic.fromTopicArn(this, 'AlarmTopic', config.alarmTopicArn) : undefined);
    if (!props.alarmTopic && config.alarmTopicArn) this.requireTopicInStackRegion(config.alarmTopicArn);
    if (alarmTopic) this.eventBus.notifyOperationalEvents(alarmTopic);

    this.monitoring = new Monitoring(this, 'Monitoring', {
      deliveryQueue: this.delivery.queue,
      deliveryDeadLetterQueue: this.delivery.deadLetterQueue,
      fanOutDeadLetterQueue: this.fanOut.deadLetterQueue,
      operationalEventsDeadLetterQueue: this.eventBus.operationalEventsDeadLetterQueue,
      fanOutFunction: this.fanOut.function,
      deliveryFunction: this.delivery.function,
      retryFunction: this.delivery.retryFunction,
      deliveryQueueMaxAge: Duration.seconds(config.deliveryQueueAgeAlarmSeconds),
      alarmTopic,
    });

    // Public contract (producers, CLI, local runtime's dev.json): ids are the output keys.
    new CfnOutput(this, 'EventBusName', { value: this.eventBus.bus.eventBusName, description: 'PutEvents here' });
    new CfnOutput(this, 'EventBusArn', { value: this.eventBus.bus.eventBusArn });
    new CfnOutput(this, 'ArchiveArn', { value: this.eventBus.archive.archiveArn, description: 'The archive of accepted events (statushooks events replay)' });
    new CfnOutput(this, 'FanOutRuleArn', { value: this.eventBus.rule.ruleArn, description: 'The rule replays go through (statushooks events replay)' });
    new CfnOutput(this, 'ReplayFilterKeys', { value: REPLAY_FILTER_KEYS.join(','), description: "The filters of statushooks events replay this stack's fan-out applies" });
    new CfnOutput(this, 'SubscriptionsTableName', { value: table.tableName, description: 'Subscription items (tenantId, subscriptionId)' });
    new CfnOutput(this, 'DeliveryQueueUrl', { value: this.delivery.queue.queueUrl, description: 'The fast lane: first attempts to healthy endpoints' });
    new CfnOutput(this, 'RetryQueueUrl', { value: this.delivery.retryQueue.queueUrl, description: 'The retry lane: retries, slow and failing endpoints' });
    new CfnOutput(this, 'HealthTableName', { value: this.health.table.tableName, description: 'Endpoint health (circuit breakers), rate-limit counters, operational events' });
    new CfnOutput(this, 'DeliveryLogTableName', { value: this.deliveryLog.table.tableName, description: 'One record per delivery with every attempt (statushooks deliveries)' });
    new CfnOutput(this, 'DeliveryDlqUrl', { value: this.delivery.deadLetterQueue.queueUrl, description: 'Parked delivery jobs; redrive to DeliveryQueueUrl' });
    new CfnOutput(this, 'FanOutDlqUrl', { value: this.fanOut.deadLetterQueue.queueUrl, description: 'Events that could not be fanned out' });
    // Only with an alarm topic: the queue belongs to the rule that forwards operational events there.
    const operationalDlq = this.eventBus.operationalEventsDeadLetterQueue;
    if (operationalDlq) {
      new CfnOutput(this, 'OperationalEventsDlqUrl', { value: operationalDlq.queueUrl, description: 'Operational events the alarm topic refused, with the error' });
    }
    // The deployed values of settings others must know (the CLI checks subscription URLs by the
    // endpoint policy): declared with the setting, as `output`.
    for (const [name, declaration] of declarations()) {
      const value = (config as PartialSettings)[name];
      if (declaration.output && value !== undefined) {
        new CfnOutput(this, declaration.output, { value: formatSetting(value), description: `Deployed value of the ${name} setting` });
      }
    }
  }

  /**
   * CloudWatch alarm actions and EventBridge rule targets both need the SNS topic in the stack's
   * region. The stack is environment-agnostic, so synth cannot tell; this CloudFormation rule makes
   * a deploy to another region fail before any resource is created, saying why, instead of halfway
   * through (PutMetricAlarm refuses the action) with a rollback.
   */
  private requireTopicInStackRegion(topicArn: string): void {
    const topicRegion = topicArn.split(':')[3]!;
    new CfnRule(this, 'AlarmTopicInStackRegion', {
      assertions: [
        {
          assert: Fn.conditionEquals(Aws.REGION, topicRegion),
          assertDescription: `alarmTopicArn ${topicArn} is in ${topicRegion}: CloudWatch alarms and EventBridge rules can only notify an SNS topic in the stack's own region. Deploy this stack to ${topicRegion}, or set alarmTopicArn to a topic in the region you deploy to.`,
        },
      ],
    });
  }
}
