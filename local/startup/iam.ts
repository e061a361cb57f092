/**
 * Start-up phase 3c: the functions' execution roles, compiled from the template (iam.ts) and
 * handed to whatever answers the functions' calls: the emulator worker (DynamoDB, SQS) and the
 * EventBridge endpoint. Runs before any function does.
 */
import type { Emulators, LocalQueue } from '../emulators';
import type { LocalEventBridge } from '../eventbridge';
import { AccessControl, type AccessDenial, type IamPolicies, compileIamPolicies, compileResourcePolicies, formatDenial } from '../iam';
import type { LambdaFunction } from '../lambda-runner';
import { type CfnTemplate, type TemplateResolver, resourcesOfType } from '../template';

/** The denials runtime.accessDenials keeps (the first ones). */
const KEPT_DENIALS = 1_000;
/** The same denial (function, action, resource) is printed at most once in this long. */
const REPEAT_QUIET_MS = 60_000;

/**
 * Every call refused so far (runtime.accessDenials), each also printed as a warning; a denial
 * that repeats (a poller that cannot receive tries again every few seconds) is printed again only
 * after a minute, with how often it came meanwhile.
 */
export class DeniedCalls {
  readonly denials: AccessDenial[] = [];
  private readonly printed = new Map<string, { at: number; since: number }>();

  constructor(
    private readonly log: (line: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  readonly record = (denial: AccessDenial): void => {
    if (this.denials.length < KEPT_DENIALS) this.denials.push(denial);
    const key = `${denial.functionName}\n${denial.action}\n${denial.resource}`;
    const last = this.printed.get(key);
    const now = this.now();
    if (last && now - last.at < REPEAT_QUIET_MS) {
      last.since++;
      return;
    }
    this.printed.set(key, { at: now, since: 0 });
    this.log(last && last.since > 0 ? `${formatDenial(denial)}; ${last.since} more time${last.since === 1 ? '' : 's'} since it was last shown` : formatDenial(denial));
  };
}

/**
 * Compiles the roles of the running functions (tables and queues by their local ARNs) and the
 * resource-based policies EventBridge's own calls need (Lambda permissions, queue policies),
 * prints what cannot be enforced as on AWS, and turns the checks on in the emulator worker and the
 * EventBridge endpoint; denials go to `denied`.
 */
export async function enforceIam(
  template: CfnTemplate,
  resolver: TemplateResolver,
  functions: Iterable<LambdaFunction>,
  queueByArn: Map<string, LocalQueue>,
  targets: { emulators: Emulators; bridge: LocalEventBridge; denied: DeniedCalls },
  log: (line: string) => void,
): Promise<IamPolicies> {
  const tableArns: Record<string, string> = {};
  for (const [id] of [...resourcesOfType(template, 'AWS::DynamoDB::Table'), ...resourcesOfType(template, 'AWS::DynamoDB::GlobalTable')]) {
    const physical = resolver.physicalOf(id);
    if (physical?.attributes.Arn) tableArns[physical.ref] = physical.attributes.Arn;
  }
  const queueArns = Object.fromEntries([...queueByArn.values()].map((q) => [q.name, q.arn]));
  const refs = [...functions].map((fn) => ({ logicalId: fn.spec.logicalId, name: fn.spec.name, displayName: fn.spec.displayName }));
  const { policies, warnings } = compileIamPolicies(template, resolver, refs, { tableArns, queueArns });
  const arnOfUrl = new Map([...queueByArn.values()].map((q) => [q.url, q.arn]));
  const resourcePolicies = compileResourcePolicies(template, resolver, (url) => arnOfUrl.get(url));
  for (const warning of new Set([...warnings, ...resourcePolicies.warnings])) log(`! IAM: ${warning}`);
  await targets.emulators.enforceIam(policies);
  targets.bridge.enforceIam(new AccessControl(policies), targets.denied.record);
  targets.bridge.enforceResourcePolicies(resourcePolicies.policies, targets.denied.record);
  return policies;
}
