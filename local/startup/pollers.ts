/**
 * Start-up phase 4a: the SQS event source mappings, each a poller that behaves like Lambda's
 * (batch size, maximum concurrency, partial batch failures), calling SQS with the function's role.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { LocalQueue } from '../emulators';
import type { LambdaFunction } from '../lambda-runner';
import { type EventSourceMappingSpec, SqsEventSourcePoller } from '../poller';
import { type CfnTemplate, type TemplateResolver, UnsupportedTemplateError, resourcesOfType } from '../template';

export function createPollers(
  template: CfnTemplate,
  resolver: TemplateResolver,
  queueByArn: Map<string, LocalQueue>,
  functions: Map<string, LambdaFunction>,
  deps: { sqsOfFunction: (logicalId: string) => SQSClient; region: string; waitTimeSeconds: number; log: (line: string) => void },
): SqsEventSourcePoller[] {
  const { sqsOfFunction, ...rest } = deps;
  // Each poller calls SQS as its function's execution role, as Lambda's event source mapping does.
  return eventSourceMappings(template, resolver, queueByArn, functions).map(({ spec, fn }) => new SqsEventSourcePoller(spec, fn, { ...rest, sqs: sqsOfFunction(fn.spec.logicalId) }));
}

function eventSourceMappings(
  template: CfnTemplate,
  resolver: TemplateResolver,
  queueByArn: Map<string, LocalQueue>,
  functions: Map<string, LambdaFunction>,
): Array<{ spec: EventSourceMappingSpec; fn: LambdaFunction }> {
  const out: Array<{ spec: EventSourceMappingSpec; fn: LambdaFunction }> = [];
  for (const [id, resource] of resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')) {
    const props = (resolver.resolve(resource.Properties ?? {}, `${id}.Properties`) ?? {}) as Record<string, unknown>;
    resolver.define(id, { ref: id, attributes: { Id: id } });
    if (props.Enabled === false || props.Enabled === 'false') continue;
    const queue = typeof props.EventSourceArn === 'string' ? queueByArn.get(props.EventSourceArn) : undefined;
    if (!queue) throw new UnsupportedTemplateError(`event source mapping ${id}: source ${String(props.EventSourceArn)} is not supported by the local runtime (only this stack's SQS queues)`);
    if (props.FilterCriteria !== undefined) throw new UnsupportedTemplateError(`event source mapping ${id}: FilterCriteria is not supported by the local runtime`);
    const fnRef = String(props.FunctionName ?? '');
    const fn = functions.get(fnRef) ?? functions.get(fnRef.replace(/:\$LATEST$/, ''));
    if (!fn) throw new UnsupportedTemplateError(`event source mapping ${id}: function ${fnRef} is not a function of this template`);
    const batchSize = Number(props.BatchSize ?? 10);
    const scaling = (props.ScalingConfig ?? {}) as { MaximumConcurrency?: unknown };
    const types = Array.isArray(props.FunctionResponseTypes) ? props.FunctionResponseTypes : [];
    out.push({
      fn,
      spec: {
        logicalId: id,
        queueUrl: queue.url,
        queueArn: queue.arn,
        batchSize,
        maximumBatchingWindowSeconds: Number(props.MaximumBatchingWindowInSeconds ?? 0),
        maximumConcurrency: Math.min(Number(scaling.MaximumConcurrency ?? fn.spec.maxEnvironments), fn.spec.maxEnvironments),
        reportBatchItemFailures: types.includes('ReportBatchItemFailures'),
      },
    });
  }
  return out;
}

