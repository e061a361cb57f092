import { Annotations, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EVENT_NAMES } from '../lambdas/core/catalog';
import { OPERATIONAL_DETAIL_TYPE_LIST, OPERATIONAL_SOURCE } from '../lambdas/core/operational';
import { INFRA_DEFAULTS } from './defaults';
import { StatusHooksQueue } from './queue';

export interface StatusEventBusProps {
  /**
   * Name of the custom bus.
   * @default a unique name CDK derives from the stack and construct path
   */
  readonly eventBusName?: string;
  /** EventBridge `source` values the rule accepts (setting `sources`). */
  readonly sources: readonly string[];
  /** How long the archive keeps matching events (for replay); 0 keeps them indefinitely. */
  readonly archiveRetention: Duration;
  /** Invoked (asynchronously) for every matching event. */
  readonly fanOutFunction: lambda.IFunction;
  /** Where EventBridge parks events it could not hand to the fan-out function. */
  readonly deadLetterQueue: sqs.IQueue;
}

/**
 * The producer-facing side (docs/architecture.md §1): a custom bus, one rule that accepts exactly the
 * five catalog event names from the configured sources, an archive of the same events so a bad
 * deployment can be repaired by replaying, and two rules that hand fan-out every other event
 * (except the stack's own operational events), which it parks as unknown.
 */
export class StatusEventBus extends Construct {
  readonly bus: events.EventBus;
  readonly rule: events.Rule;
  /** Rules that hand fan-out the events no status-change rule takes, so they are parked, not lost. */
  readonly unroutedRules: readonly events.Rule[];
  readonly archive: events.Archive;
  readonly eventPattern: events.EventPattern;
  /**
   * Where the operational-events rule target keeps the notifications SNS refused; set by
   * `notifyOperationalEvents` (the stack alarms on it and outputs its URL).
   */
  operationalEventsDeadLetterQueue?: sqs.Queue;

  constructor(scope: Construct, id: string, props: StatusEventBusProps) {
    super(scope, id);
    this.bus = new events.EventBus(this, 'Bus', { eventBusName: props.eventBusName });

    // Derived from the catalog, so a new event name reaches the rule in the same commit.
    this.eventPattern = {
      source: [...props.sources],
      detailType: [...EVENT_NAMES],
    };

    // Only events that the rule accepts are worth replaying; the rest never mattered.
    this.archive = new events.Archive(this, 'Archive', {
      sourceEventBus: this.bus,
      eventPattern: this.eventPattern,
      retention: props.archiveRetention,
      description: 'statushooks: status-change events accepted by the fan-out rule, for replay',
    });

    const fanOutTarget = () =>
      new targets.LambdaFunction(props.fanOutFunction, {
        retryAttempts: INFRA_DEFAULTS.ruleTargetRetryAttempts,
        maxEventAge: Duration.hours(INFRA_DEFAULTS.ruleTargetMaxEventAgeHours),
        deadLetterQueue: props.deadLetterQueue,
      });
    this.rule = new events.Rule(this, 'FanOutRule', {
      eventBus: this.bus,
      eventPattern: this.eventPattern,
      description: 'statushooks: status-change events → fan-out',
      targets: [fanOutTarget()],
    });

    // The bus is statushooks' own, so every other event on it is a producer's mistake (a typo in
    // the source or the detail type, or the stack's own source): without these rules it would
    // match nothing and vanish.
    // Fan-out refuses such an event and parks it with its reason in the fan-out DLQ, like any
    // event that breaks the contract (docs/architecture.md §1). The stack's own operational
    // events (source `statushooks`) are left out. Neither rule is archived or replayed.
    this.unroutedRules = [
      new events.Rule(this, 'UnknownSourceRule', {
        eventBus: this.bus,
        eventPattern: { source: events.Match.anythingBut(...props.sources, OPERATIONAL_SOURCE) },
        description: 'statushooks: events of a source the stack does not accept → fan-out, which parks them with the reason',
        targets: [fanOutTarget()],
      }),
      new events.Rule(this, 'UnknownEventTypeRule', {
        eventBus: this.bus,
        eventPattern: { source: [...props.sources], detailType: events.Match.anythingBut(...EVENT_NAMES) },
        description: 'statushooks: events of an unknown detail type → fan-out, which parks them with the reason',
        targets: [fanOutTarget()],
      }),
      // The stack's own source with anything but its operational events: a producer that took
      // `statushooks` for its source (the delivery functions may publish only those three types).
      new events.Rule(this, 'ForeignStatushooksEventRule', {
        eventBus: this.bus,
        eventPattern: { source: [OPERATIONAL_SOURCE], detailType: events.Match.anythingBut(...OPERATIONAL_DETAIL_TYPE_LIST) },
        description: 'statushooks: events with the source statushooks that are not its operational events → fan-out, which parks them with the reason',
        targets: [fanOutTarget()],
      }),
    ];
  }

  /**
   * Routes the stack's operational events (source `statushooks`) to an SNS topic. A topic of
   * another stack must allow events.amazonaws.com to publish (its policy is not managed here).
   */
  notifyOperationalEvents(topic: sns.ITopic): events.Rule {
    // A notification SNS refused (a topic policy that does not let EventBridge publish, a deleted
    // topic) is kept here with the error, for an operator, instead of being dropped.
    const deadLetterQueue = new StatusHooksQueue(this, 'OperationalEventsDeadLetterQueue', { removalPolicy: RemovalPolicy.RETAIN });
    this.operationalEventsDeadLetterQueue = deadLetterQueue;
    Validations.of(deadLetterQueue).acknowledge(
      {
        id: 'AwsSolutions-SQS3',
        reason: 'This is the dead-letter queue of the operational-events rule target itself: the terminal place of notifications SNS refused. A DLQ of a DLQ adds nothing.',
      },
      {
        id: 'Serverless-SQSRedrivePolicy',
        reason: 'This is the dead-letter queue of the operational-events rule target itself; it has no consumer that could fail and need a redrive policy.',
      },
    );
    const rule = new events.Rule(this, 'OperationalEventsRule', {
      eventBus: this.bus,
      eventPattern: { source: [OPERATIONAL_SOURCE], detailType: [...OPERATIONAL_DETAIL_TYPE_LIST] },
      description: 'statushooks: operational events (endpoint failing/recovered, subscription disabled) → alarm topic',
      targets: [
        new targets.SnsTopic(topic, {
          retryAttempts: INFRA_DEFAULTS.ruleTargetRetryAttempts,
          maxEventAge: Duration.hours(INFRA_DEFAULTS.ruleTargetMaxEventAgeHours),
          deadLetterQueue,
        }),
      ],
    });
    Annotations.of(rule).acknowledgeWarning(
      '@aws-cdk/aws-events:ruleUnresolvedEnvironment',
      'The topic comes from the alarmTopicArn context and the stack is environment-agnostic; the README says the topic must be in the stack\'s region and allow events.amazonaws.com to publish.',
    );
    return rule;
  }

}
