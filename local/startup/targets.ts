/**
 * Start-up phase 3b: what a rule's target ARN becomes locally. One entry per kind of target the
 * stack synthesizes; a new kind (a log group, an SNS topic) is one more entry here. Anything else
 * is refused at start-up, by name.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { LocalQueue } from '../emulators';
import { stringifyJson } from '../../lambdas/core/json';
import { UnsupportedTemplateError } from '../template';
import type { StackFunctions } from './functions';

export type TargetHandler = (payload: unknown) => Promise<void>;

export interface TargetContext {
  readonly functions: StackFunctions;
  readonly queueByArn: Map<string, LocalQueue>;
  readonly sqs: SQSClient;
  readonly log: (line: string) => void;
}

type TargetKind = (arn: string, ctx: TargetContext) => TargetHandler | undefined;

const TARGET_KINDS: readonly TargetKind[] = [
  // A Lambda function of this stack: invoked asynchronously, with Lambda's retries and destinations.
  (arn, ctx) => {
    const fn = ctx.functions.byArnOrName.get(arn.replace(/:\$LATEST$/, ''));
    if (!fn) return undefined;
    const invoker = ctx.functions.invokerFor(fn);
    return async (payload) => {
      invoker.invokeAsync(payload);
    };
  },
  // An SQS queue of this stack: the event as the message body.
  (arn, ctx) => {
    const queue = ctx.queueByArn.get(arn);
    if (!queue) return undefined;
    return async (payload) => {
      await ctx.sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: stringifyJson(payload) }));
    };
  },
  // An SNS topic (the alarm topic, context alarmTopicArn): nothing is sent from a laptop; the
  // runtime says what would have been published.
  (arn, ctx) => {
    if (!/^arn:aws[a-z-]*:sns:/.test(arn)) return undefined;
    return async (payload) => {
      const { 'detail-type': detailType } = (payload ?? {}) as { 'detail-type'?: unknown };
      ctx.log(`~ SNS ${arn}: ${String(detailType ?? 'event')} (not sent by the local runtime)`);
    };
  },
];

export function targetFor(arn: string, where: string, ctx: TargetContext): TargetHandler {
  for (const kind of TARGET_KINDS) {
    const handler = kind(arn, ctx);
    if (handler) return handler;
  }
  throw new UnsupportedTemplateError(`${where}: target ${arn} is not supported by the local runtime (only this stack's Lambda functions and SQS queues, and SNS topics, which are logged)`);
}
