/**
 * Start-up phase 2: the emulators' resources. Tables and queues are created in dynalite and
 * fauxqs; every other resource gets the names and ARNs references to it need. A new resource type
 * the stack synthesizes gets its line here (or in SPECIFIC_TYPES with its own phase).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_ACCOUNT_ID, type LocalQueue, createQueues, createTables } from '../emulators';
import { defineBuses } from '../eventbridge';
import { type CfnTemplate, type TemplateResolver, resourcesOfType } from '../template';

export interface Provisioned {
  readonly functionIds: string[];
  readonly queues: Map<string, LocalQueue>;
  readonly queueByArn: Map<string, LocalQueue>;
}

export async function provisionResources(template: CfnTemplate, resolver: TemplateResolver, region: string, clients: { sqs: SQSClient; dynamodb: DynamoDBClient }): Promise<Provisioned> {
  defineGenericResources(template, resolver);
  defineBuses(template, resolver);
  const functionIds = defineFunctions(template, resolver, region);
  await createTables(template, resolver, clients.dynamodb);
  const queues = await createQueues(template, resolver, clients.sqs);
  return { functionIds, queues, queueByArn: new Map([...queues.values()].map((q) => [q.arn, q])) };
}

const SPECIFIC_TYPES = new Set([
  'AWS::SQS::Queue',
  'AWS::DynamoDB::Table',
  'AWS::DynamoDB::GlobalTable',
  'AWS::Lambda::Function',
  'AWS::Events::EventBus',
  'AWS::Events::Rule',
]);

/**
 * Resources the local runtime does not create (roles, policies, alarms, archives...) still get a
 * `Ref` (their logical id) and, for roles, an ARN, so that references to them resolve; a GetAtt
 * of anything else is refused by name when something needs it.
 */
function defineGenericResources(template: CfnTemplate, resolver: TemplateResolver): void {
  const { region, accountId } = resolver.env;
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (SPECIFIC_TYPES.has(resource.Type)) continue;
    const attributes: Record<string, string> = {};
    if (resource.Type === 'AWS::IAM::Role') attributes.Arn = `arn:aws:iam::${accountId}:role/${id}`;
    if (resource.Type === 'AWS::Events::Archive') attributes.Arn = `arn:aws:events:${region}:${accountId}:archive/${id}`;
    if (resource.Type === 'AWS::CloudWatch::Alarm') attributes.Arn = `arn:aws:cloudwatch:${region}:${accountId}:alarm:${id}`;
    resolver.define(id, { ref: id, attributes });
  }
}

function defineFunctions(template: CfnTemplate, resolver: TemplateResolver, region: string): string[] {
  const ids: string[] = [];
  for (const [id, resource] of resourcesOfType(template, 'AWS::Lambda::Function')) {
    const name = typeof resource.Properties?.FunctionName === 'string' ? resource.Properties.FunctionName : id;
    const arn = `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${name}`;
    resolver.define(id, { ref: name, attributes: { Arn: arn } });
    ids.push(id);
  }
  return ids;
}

