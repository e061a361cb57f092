/**
 * IAM as the local runtime enforces it: every function calls the emulators with an access key id
 * of its own (functionAccessKeyId), and each request it makes is checked against the identity-based
 * policies of its execution role, compiled here from the synthesized template.
 *
 *   compileIamPolicies()  function → Role (Fn::GetAtt of an AWS::IAM::Role) → the role's inline
 *                         Policies, every AWS::IAM::Policy / AWS::IAM::ManagedPolicy attached to it;
 *                         resources resolved to local ARNs. Plain JSON: it is sent to the emulator
 *                         worker thread as it is.
 *   AccessControl         who calls (the access key id of the Authorization header), what the
 *                         request asks for (action and resource per service, as AWS authorizes
 *                         it) and the decision: explicit Deny > Allow > implicit deny.
 *   compileResourcePolicies()  what AWS services may do to the stack's resources: each
 *                         AWS::Lambda::Permission and AWS::SQS::QueuePolicy, by resource ARN;
 *                         servicePrincipalDecision() decides a service's call (EventBridge
 *                         invoking a rule's target, sending to its dead-letter queue) on them.
 *
 * Only DynamoDB, SQS and EventBridge are emulated, so only their actions are compiled. Statements
 * with a Condition this evaluator does not understand never allow (the denial says so) and never
 * deny (start-up warns). AWS managed policies are not in the template: the few known to grant
 * nothing here are skipped, any other is named in a start-up warning.
 */
import { createHash } from 'node:crypto';
import { type CfnTemplate, type TemplateResolver, UnsupportedTemplateError, referencedLogicalIds, resourcesOfType } from './template';

/** Access key ids of the functions start with this; any other caller (CLI, tests, pollers) is not checked. */
export const FUNCTION_ACCESS_KEY_PREFIX = 'LOCALFN';

/** The services the local runtime emulates, by IAM service prefix. */
export type IamService = 'dynamodb' | 'sqs' | 'events';
const EMULATED_SERVICES: readonly IamService[] = ['dynamodb', 'sqs', 'events'];

/**
 * A function's access key id: `LOCALFN` + 13 base32 characters of the SHA-256 of its logical id,
 * 20 characters like an AWS key id, the same in every run.
 */
export function functionAccessKeyId(logicalId: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const digest = createHash('sha256').update(logicalId).digest();
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 13) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
    if (out.length >= 13) break;
  }
  return FUNCTION_ACCESS_KEY_PREFIX + out;
}

/** The access key id of a SigV4 `Authorization` header (`AWS4-HMAC-SHA256 Credential=<AKID>/<date>/…`). */
export function accessKeyIdOf(authorization: string | string[] | undefined): string | undefined {
  const header = Array.isArray(authorization) ? authorization[0] : authorization;
  return header ? /Credential=([^/,\s]+)\//.exec(header)?.[1] : undefined;
}

// ---- compiled policies (JSON: they cross to the emulator worker) ----

export interface CompiledStatement {
  /** Where it comes from, for messages: `FanOutFunctionRoleDefaultPolicy5E4D2473 statement 4`. */
  readonly where: string;
  readonly effect: 'Allow' | 'Deny';
  readonly action?: readonly string[];
  readonly notAction?: readonly string[];
  readonly resource?: readonly string[];
  readonly notResource?: readonly string[];
  readonly condition?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Whom a resource-based statement is about (identity-based statements have none). */
  readonly principal?: Principal;
}

/** A resource-based policy's Principal: everyone, or AWS service principals and AWS principals (accounts, ARNs). */
export type Principal = '*' | { readonly service: readonly string[]; readonly aws: readonly string[] };

export interface FunctionIdentity {
  readonly accessKeyId: string;
  readonly functionLogicalId: string;
  /** The function's name (what Lambda uses as the role session name). */
  readonly functionName: string;
  /** Its short name for the runtime's log (logical id without CDK's hash). */
  readonly displayName: string;
  readonly roleLogicalId: string;
  readonly roleName: string;
  readonly roleArn: string;
  /** `arn:aws:sts::<account>:assumed-role/<role>/<function>`, as AWS names the caller. */
  readonly principalArn: string;
  readonly statements: readonly CompiledStatement[];
}

export interface IamPolicies {
  readonly region: string;
  readonly accountId: string;
  readonly identities: readonly FunctionIdentity[];
  /** Table name → ARN (as the emulator reports it), for requests naming a table. */
  readonly tableArns: Readonly<Record<string, string>>;
  /** Queue name → ARN, for requests naming a queue URL. */
  readonly queueArns: Readonly<Record<string, string>>;
}

export interface CompiledIam {
  readonly policies: IamPolicies;
  /** What is not enforced as on AWS (unknown managed policies, boundaries, conditions), one line each. */
  readonly warnings: string[];
}

export interface FunctionRef {
  readonly logicalId: string;
  readonly name: string;
  readonly displayName?: string;
}

/**
 * AWS managed policies functions commonly carry that grant nothing on the emulated services; any
 * other is named in a warning (its grants are not known locally, so calls it would allow are refused).
 */
const MANAGED_WITHOUT_EMULATED_ACTIONS = ['AWSLambdaBasicExecutionRole', 'AWSXRayDaemonWriteAccess', 'AWSLambdaVPCAccessExecutionRole', 'CloudWatchLambdaInsightsExecutionRolePolicy'];
/** The one managed policy with emulated actions that Lambda functions use (an SQS event source). */
const KNOWN_MANAGED: Record<string, Array<Omit<CompiledStatement, 'where'>>> = {
  AWSLambdaSQSQueueExecutionRole: [{ effect: 'Allow', action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], resource: ['*'] }],
};

export function compileIamPolicies(
  template: CfnTemplate,
  resolver: TemplateResolver,
  functions: readonly FunctionRef[],
  resources: { tableArns: Record<string, string>; queueArns: Record<string, string> },
): CompiledIam {
  const { region, accountId } = resolver.env;
  const warnings: string[] = [];
  const identities: FunctionIdentity[] = [];
  for (const fn of functions) {
    const resource = template.Resources[fn.logicalId];
    const roleRef = resource?.Properties?.Role;
    const roleId = roleLogicalIdOf(template, roleRef);
    if (!roleId) {
      warnings.push(`function ${fn.logicalId}: its role ${JSON.stringify(roleRef ?? null)} is not an AWS::IAM::Role of this template, so its calls are not checked`);
      continue;
    }
    const role = template.Resources[roleId]!;
    const roleProps = role.Properties ?? {};
    const roleName = typeof roleProps.RoleName === 'string' ? roleProps.RoleName : (resolver.physicalOf(roleId)?.ref ?? roleId);
    const statements: CompiledStatement[] = [];
    const add = (document: unknown, source: string) => statements.push(...compileDocument(document, source, resolver, warnings));

    for (const [i, policy] of asList(roleProps.Policies).entries()) {
      const p = (policy ?? {}) as { PolicyName?: unknown; PolicyDocument?: unknown };
      add(p.PolicyDocument, `${roleId} inline policy ${typeof p.PolicyName === 'string' ? p.PolicyName : i}`);
    }
    const attachedManaged = new Set<string>();
    for (const arn of asList(roleProps.ManagedPolicyArns)) {
      const ids = [...referencedLogicalIds(arn)].filter((id) => template.Resources[id]?.Type === 'AWS::IAM::ManagedPolicy');
      if (ids.length > 0) {
        ids.forEach((id) => attachedManaged.add(id));
        continue;
      }
      const resolved = String(resolver.resolve(arn, `${roleId}.Properties.ManagedPolicyArns`));
      const name = resolved.slice(resolved.lastIndexOf('/') + 1);
      const known = KNOWN_MANAGED[name];
      if (known) statements.push(...known.map((s, n) => ({ ...s, where: `managed policy ${name} statement ${n}` })));
      else if (!MANAGED_WITHOUT_EMULATED_ACTIONS.includes(name)) {
        warnings.push(`role ${roleName}: managed policy ${resolved} is not known locally; what it grants is refused to ${fn.logicalId}`);
      }
    }
    for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
      for (const [id, policy] of resourcesOfType(template, type)) {
        const attached = attachedManaged.has(id) || asList(policy.Properties?.Roles).some((r) => referencedLogicalIds(r).has(roleId) || r === roleName);
        if (attached) add(policy.Properties?.PolicyDocument, id);
      }
    }
    if (roleProps.PermissionsBoundary !== undefined) {
      warnings.push(`role ${roleName}: its permissions boundary is not evaluated locally (calls it would refuse are allowed)`);
    }
    identities.push({
      accessKeyId: functionAccessKeyId(fn.logicalId),
      functionLogicalId: fn.logicalId,
      functionName: fn.name,
      displayName: fn.displayName ?? fn.name,
      roleLogicalId: roleId,
      roleName,
      roleArn: `arn:aws:iam::${accountId}:role/${roleName}`,
      principalArn: `arn:aws:sts::${accountId}:assumed-role/${roleName}/${fn.name}`,
      statements,
    });
  }
  return { policies: { region, accountId, identities, tableArns: resources.tableArns, queueArns: resources.queueArns }, warnings: [...new Set(warnings)] };
}

function roleLogicalIdOf(template: CfnTemplate, role: unknown): string | undefined {
  const ids = [...referencedLogicalIds(role ?? null)];
  return ids.length === 1 && template.Resources[ids[0]!]?.Type === 'AWS::IAM::Role' ? ids[0] : undefined;
}

function asList(value: unknown): unknown[] {
  return value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
}

function compileDocument(document: unknown, source: string, resolver: TemplateResolver, warnings: string[], withPrincipal = false): CompiledStatement[] {
  const statements = asList((document as { Statement?: unknown } | undefined)?.Statement);
  const out: CompiledStatement[] = [];
  statements.forEach((raw, i) => {
    const st = (raw ?? {}) as Record<string, unknown>;
    const where = `${source} statement ${typeof st.Sid === 'string' && st.Sid ? st.Sid : i}`;
    const strings = (key: string): string[] | undefined => {
      if (st[key] === undefined) return undefined;
      return asList(resolver.resolve(st[key], `${where} ${key}`)).map((v) => {
        if (typeof v !== 'string') throw new UnsupportedTemplateError(`${where}: ${key} ${JSON.stringify(v)} is not a string`);
        return v;
      });
    };
    const action = st.Action === undefined ? undefined : asList(st.Action).map(String);
    const notAction = st.NotAction === undefined ? undefined : asList(st.NotAction).map(String);
    // Statements about other services (logs, X-Ray...) are left out before their resources are
    // resolved: the runtime does not create log groups, and their ARNs do not resolve.
    if (action && !action.some(mayConcernEmulatedService)) return;
    if (st.Effect !== 'Allow' && st.Effect !== 'Deny') throw new UnsupportedTemplateError(`${where}: Effect ${JSON.stringify(st.Effect)} (Allow or Deny)`);
    if (withPrincipal && st.NotPrincipal !== undefined) {
      warnings.push(`${where}: NotPrincipal is not evaluated locally, so this statement is left out`);
      return;
    }
    const condition = st.Condition === undefined ? undefined : (resolver.resolve(st.Condition, `${where} Condition`) as CompiledStatement['condition']);
    const unknown = condition ? unknownConditions(condition) : [];
    if (unknown.length > 0) {
      warnings.push(
        st.Effect === 'Allow'
          ? `${where}: Condition ${unknown.join(', ')} is not understood locally, so this statement allows nothing`
          : `${where}: Condition ${unknown.join(', ')} is not understood locally, so this Deny is not applied`,
      );
    }
    out.push({
      where,
      effect: st.Effect,
      ...(action ? { action } : {}),
      ...(notAction ? { notAction } : {}),
      ...(st.Resource !== undefined ? { resource: strings('Resource') } : {}),
      ...(st.NotResource !== undefined ? { notResource: strings('NotResource') } : {}),
      ...(condition ? { condition } : {}),
      ...(withPrincipal ? { principal: principalOf(st.Principal === undefined ? undefined : resolver.resolve(st.Principal, `${where} Principal`), where) } : {}),
    });
  });
  return out;
}

function principalOf(raw: unknown, where: string): Principal {
  if (raw === '*') return '*';
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new UnsupportedTemplateError(`${where}: Principal ${JSON.stringify(raw ?? null)} (a resource-based statement needs one: "*" or { Service | AWS: … })`);
  const p = raw as Record<string, unknown>;
  const aws = asList(p.AWS).map(String);
  if (aws.includes('*')) return '*';
  return { service: asList(p.Service).map(String), aws };
}

function mayConcernEmulatedService(action: string): boolean {
  const colon = action.indexOf(':');
  if (colon < 0) return action === '*';
  const service = globRegExp(action.slice(0, colon), true);
  return EMULATED_SERVICES.some((s) => service.test(s));
}

// ---- resource-based policies: what AWS services may do to the stack's resources ----

/** The principal EventBridge calls targets and dead-letter queues as. */
export const EVENTS_PRINCIPAL = 'events.amazonaws.com';

export interface ResourcePolicies {
  /** Resource ARN (a function, a queue) → the statements of its resource-based policy. */
  readonly byResource: Readonly<Record<string, readonly CompiledStatement[]>>;
}

/**
 * The template's resource-based policies on the resources AWS services call locally: every
 * AWS::Lambda::Permission (one Allow statement on its function) and every AWS::SQS::QueuePolicy
 * (its statements, on each of its queues). `queueArnOfUrl` maps what a queue's Ref resolves to
 * (its URL) to its ARN.
 */
export function compileResourcePolicies(template: CfnTemplate, resolver: TemplateResolver, queueArnOfUrl: (url: string) => string | undefined): { policies: ResourcePolicies; warnings: string[] } {
  const { region, accountId } = resolver.env;
  const warnings: string[] = [];
  const byResource: Record<string, CompiledStatement[]> = {};
  const add = (arn: string, statements: readonly CompiledStatement[]) => (byResource[arn] ??= []).push(...statements);
  for (const [id, resource] of resourcesOfType(template, 'AWS::Lambda::Permission')) {
    const props = resource.Properties ?? {};
    const value = (key: string) => resolver.resolveString(props[key], `${id}.Properties.${key}`);
    const fn = value('FunctionName');
    const functionArn = fn.startsWith('arn:') ? fn : `arn:aws:lambda:${region}:${accountId}:function:${fn}`;
    const principal = value('Principal');
    const condition: Record<string, Record<string, string>> = {};
    if (props.SourceArn !== undefined) condition.ArnLike = { 'aws:SourceArn': value('SourceArn') };
    if (props.SourceAccount !== undefined) condition.StringEquals = { 'aws:SourceAccount': value('SourceAccount') };
    for (const key of ['EventSourceToken', 'PrincipalOrgID', 'FunctionUrlAuthType']) {
      if (props[key] !== undefined) warnings.push(`${id}: ${key} is not evaluated locally; the permission applies without it`);
    }
    add(functionArn, [
      {
        where: `${id} (AWS::Lambda::Permission)`,
        effect: 'Allow',
        action: [value('Action')],
        resource: [functionArn],
        ...(Object.keys(condition).length > 0 ? { condition } : {}),
        principal: principal === '*' ? '*' : principal.endsWith('.amazonaws.com') ? { service: [principal], aws: [] } : { service: [], aws: [principal] },
      },
    ]);
  }
  for (const [id, resource] of resourcesOfType(template, 'AWS::SQS::QueuePolicy')) {
    const statements = compileDocument(resource.Properties?.PolicyDocument, id, resolver, warnings, true);
    for (const ref of asList(resource.Properties?.Queues)) {
      const url = resolver.resolveString(ref, `${id}.Properties.Queues`);
      const arn = queueArnOfUrl(url);
      if (arn) add(arn, statements);
      else warnings.push(`${id}: ${url} is not a queue of this template; its policy is not applied`);
    }
  }
  return { policies: { byResource }, warnings: [...new Set(warnings)] };
}

/** The condition keys of a call an AWS service makes on behalf of `sourceArn` (a rule). */
export function serviceContext(sourceArn: string, region: string, accountId: string): ConditionContext {
  return { 'aws:securetransport': 'true', 'aws:requestedregion': region, 'aws:sourcearn': sourceArn, 'aws:sourceaccount': accountId };
}

/**
 * A call by an AWS service principal on one of the stack's resources: a service has no identity
 * policy, so the resource's own policy decides alone (explicit Deny > Allow > implicit deny).
 */
export function servicePrincipalDecision(policies: ResourcePolicies, servicePrincipal: string, request: AccessRequest, context: ConditionContext): Decision {
  const about = (policies.byResource[request.resource] ?? []).filter((st) => st.principal === '*' || (st.principal !== undefined && st.principal.service.includes(servicePrincipal)));
  return evaluate(about, request, context);
}

/** The denial of a service principal's call, for runtime.accessDenials and the runtime's log. */
export function serviceDenial(servicePrincipal: string, caller: { readonly key: string; readonly displayName: string }, request: AccessRequest, decision: Extract<Decision, { allowed: false }>): AccessDenial {
  const head = `${servicePrincipal} is not authorized to perform: ${request.action} on resource: ${request.resource}`;
  return {
    functionName: caller.key,
    displayName: caller.displayName,
    roleName: servicePrincipal,
    principal: servicePrincipal,
    action: request.action,
    resource: request.resource,
    reason: decision.reason,
    ...(decision.statement ? { statement: decision.statement } : {}),
    unevaluated: decision.unevaluated,
    message: decision.reason === 'explicit-deny' ? `${head} with an explicit deny in a resource-based policy` : `${head} because no resource-based policy allows it`,
  };
}

// ---- evaluation ----

/** One thing a request asks to do: `dynamodb:UpdateItem` on a table ARN. */
export interface AccessRequest {
  readonly action: string;
  readonly resource: string;
  /** Condition keys of this request itself (PutEvents: `events:source`, `events:detail-type` of an entry). */
  readonly context?: ConditionContext;
}

export type Decision =
  | { readonly allowed: true; readonly statement: string }
  | {
      readonly allowed: false;
      readonly reason: 'explicit-deny' | 'no-allow';
      /** The Deny statement that matched. */
      readonly statement?: string;
      /** Allow statements that matched but whose Condition could not be evaluated here. */
      readonly unevaluated: readonly string[];
    };

/** The condition keys known at request time, as on AWS for a Lambda function's call over HTTPS. */
export type ConditionContext = Readonly<Record<string, string>>;

export function conditionContext(identity: FunctionIdentity, region: string, accountId: string): ConditionContext {
  return {
    'aws:securetransport': 'true',
    'aws:requestedregion': region,
    'aws:principalaccount': accountId,
    'aws:principalarn': identity.roleArn,
    'aws:principaltype': 'AssumedRole',
  };
}

/** Explicit Deny wins, then any Allow; otherwise the implicit deny. */
export function evaluate(statements: readonly CompiledStatement[], request: AccessRequest, callerContext: ConditionContext = {}): Decision {
  const context = request.context ? { ...callerContext, ...request.context } : callerContext;
  let allowedBy: string | undefined;
  const unevaluated: string[] = [];
  for (const st of statements) {
    if (!statementCovers(st, request)) continue;
    const condition = st.condition ? evaluateCondition(st.condition, context) : true;
    if (st.effect === 'Deny') {
      if (condition === true) return { allowed: false, reason: 'explicit-deny', statement: st.where, unevaluated: [] };
    } else if (condition === true) {
      allowedBy ??= st.where;
    } else if (condition !== false) {
      unevaluated.push(`${st.where} (${condition.unknown.join(', ')})`);
    }
  }
  return allowedBy ? { allowed: true, statement: allowedBy } : { allowed: false, reason: 'no-allow', unevaluated };
}

function statementCovers(st: CompiledStatement, request: AccessRequest): boolean {
  const actionOk = st.action ? st.action.some((a) => globRegExp(a, true).test(request.action)) : st.notAction ? !st.notAction.some((a) => globRegExp(a, true).test(request.action)) : false;
  if (!actionOk) return false;
  if (st.resource) return st.resource.some((r) => globRegExp(r, false).test(request.resource));
  if (st.notResource) return !st.notResource.some((r) => globRegExp(r, false).test(request.resource));
  return false;
}

const globCache = new Map<string, RegExp>();

/** IAM's wildcards: `*` any run of characters (`/` and `:` included), `?` one character. Actions ignore case. */
export function globRegExp(pattern: string, ignoreCase: boolean): RegExp {
  const key = `${ignoreCase ? 'i' : 's'}${pattern}`;
  let re = globCache.get(key);
  if (!re) {
    const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    re = new RegExp(`^${source}$`, ignoreCase ? 'is' : 's');
    globCache.set(key, re);
  }
  return re;
}

const CONDITION_OPERATORS: Record<string, (actual: string, expected: string) => boolean> = {
  StringEquals: (a, e) => a === e,
  StringNotEquals: (a, e) => a === e,
  StringEqualsIgnoreCase: (a, e) => a.toLowerCase() === e.toLowerCase(),
  StringNotEqualsIgnoreCase: (a, e) => a.toLowerCase() === e.toLowerCase(),
  StringLike: (a, e) => globRegExp(e, false).test(a),
  StringNotLike: (a, e) => globRegExp(e, false).test(a),
  ArnEquals: (a, e) => a === e,
  ArnNotEquals: (a, e) => a === e,
  ArnLike: (a, e) => globRegExp(e, false).test(a),
  ArnNotLike: (a, e) => globRegExp(e, false).test(a),
  Bool: (a, e) => a.toLowerCase() === e.toLowerCase(),
};
const KNOWN_CONDITION_KEYS = ['aws:securetransport', 'aws:requestedregion', 'aws:principalaccount', 'aws:principalarn', 'aws:principaltype', 'aws:sourcearn', 'aws:sourceaccount', 'events:source', 'events:detail-type'];

/** The operator/key pairs of a Condition this evaluator cannot decide. */
export function unknownConditions(condition: Readonly<Record<string, unknown>>): string[] {
  const unknown: string[] = [];
  for (const [operator, keys] of Object.entries(condition)) {
    const base = operator.replace(/IfExists$/, '');
    for (const key of Object.keys((keys ?? {}) as object)) {
      if ((!(base in CONDITION_OPERATORS) && base !== 'Null') || !KNOWN_CONDITION_KEYS.includes(key.toLowerCase())) unknown.push(`${operator} ${key}`);
    }
  }
  return unknown;
}

/** true, false, or the operator/key pairs it could not evaluate. Operators AND, keys AND, values OR (NOR for Not… operators). */
function evaluateCondition(condition: Readonly<Record<string, Readonly<Record<string, unknown>>>>, context: ConditionContext): boolean | { unknown: string[] } {
  const unknown = unknownConditions(condition);
  if (unknown.length > 0) return { unknown };
  for (const [operator, keys] of Object.entries(condition)) {
    const ifExists = operator.endsWith('IfExists');
    const base = operator.replace(/IfExists$/, '');
    for (const [key, expected] of Object.entries(keys)) {
      const actual = context[key.toLowerCase()];
      const values = asList(expected).map(String);
      if (base === 'Null') {
        if (!values.some((v) => (v === 'true') === (actual === undefined))) return false;
        continue;
      }
      if (actual === undefined) {
        // A missing key: …IfExists and the negated operators hold, the others do not.
        if (ifExists || base.includes('Not')) continue;
        return false;
      }
      const test = CONDITION_OPERATORS[base]!;
      const any = values.some((v) => test(actual, v));
      if (base.includes('Not') ? any : !any) return false;
    }
  }
  return true;
}

// ---- requests: what each call asks for, as AWS authorizes it ----

/** DynamoDB (`X-Amz-Target: DynamoDB_20120810.<Operation>`): the action on each table (or index) the request names. */
export function dynamoDbAccess(operation: string, body: Record<string, unknown>, tableArn: (name: string) => string): AccessRequest[] {
  const action = `dynamodb:${operation}`;
  const table = (name: unknown) => tableArn(String(name));
  switch (operation) {
    case 'BatchWriteItem':
    case 'BatchGetItem':
      return Object.keys((body.RequestItems ?? {}) as object).map((name) => ({ action, resource: table(name) }));
    case 'TransactWriteItems':
    case 'TransactGetItems': {
      // Authorized per item as the single-item operation it is.
      const kinds: Record<string, string> = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', ConditionCheck: 'ConditionCheckItem', Get: 'GetItem' };
      return asList(body.TransactItems).flatMap((item) =>
        Object.entries((item ?? {}) as Record<string, { TableName?: unknown }>)
          .filter(([kind]) => kind in kinds)
          .map(([kind, spec]) => ({ action: `dynamodb:${kinds[kind]}`, resource: table(spec?.TableName) })),
      );
    }
    case 'ListTables':
      return [{ action, resource: '*' }];
    case 'Query':
    case 'Scan':
      if (typeof body.IndexName === 'string') return [{ action, resource: `${table(body.TableName)}/index/${body.IndexName}` }];
  }
  return [{ action, resource: body.TableName === undefined ? '*' : table(body.TableName) }];
}

/** SQS (JSON protocol, `X-Amz-Target: AmazonSQS.<Operation>`): a batch is authorized as its single action. */
export function sqsAccess(operation: string, body: Record<string, unknown>, queueArn: (nameOrUrl: string) => string): AccessRequest[] {
  const single: Record<string, string> = { SendMessageBatch: 'SendMessage', DeleteMessageBatch: 'DeleteMessage', ChangeMessageVisibilityBatch: 'ChangeMessageVisibility' };
  const action = `sqs:${single[operation] ?? operation}`;
  if (operation === 'ListQueues') return [{ action, resource: '*' }];
  if (typeof body.QueueUrl === 'string') return [{ action, resource: queueArn(body.QueueUrl) }];
  if (typeof body.QueueName === 'string') return [{ action, resource: queueArn(body.QueueName) }];
  if (typeof body.SourceArn === 'string') return [{ action, resource: body.SourceArn }];
  if (typeof body.TaskHandle === 'string') return [{ action, resource: '*' }];
  return [{ action, resource: '*' }];
}

/** EventBridge (`X-Amz-Target: AWSEvents.<Operation>`): PutEvents on each bus its entries name, replays by ARN. */
export function eventBridgeAccess(operation: string, body: Record<string, unknown>, region: string, accountId: string): AccessRequest[] {
  const action = `events:${operation}`;
  const arn = (type: string, name: string) => `arn:aws:events:${region}:${accountId}:${type}/${name}`;
  switch (operation) {
    case 'PutEvents': {
      // One request per distinct (bus, source, detail-type): each entry is authorized with its own
      // `events:source` and `events:detail-type` condition keys.
      const requests = new Map<string, AccessRequest>();
      for (const e of asList(body.Entries)) {
        const entry = (e ?? {}) as { EventBusName?: unknown; Source?: unknown; DetailType?: unknown };
        const name = entry.EventBusName;
        const resource = typeof name === 'string' && name.length > 0 ? (name.startsWith('arn:') ? name : arn('event-bus', name)) : arn('event-bus', 'default');
        const context: Record<string, string> = {};
        if (typeof entry.Source === 'string') context['events:source'] = entry.Source;
        if (typeof entry.DetailType === 'string') context['events:detail-type'] = entry.DetailType;
        requests.set(JSON.stringify([resource, context['events:source'], context['events:detail-type']]), { action, resource, context });
      }
      return [...requests.values()];
    }
    case 'StartReplay':
      return [{ action, resource: typeof body.EventSourceArn === 'string' ? body.EventSourceArn : '*' }];
    case 'DescribeReplay':
    case 'CancelReplay':
      return [{ action, resource: arn('replay', String(body.ReplayName)) }];
  }
  return [{ action, resource: '*' }];
}

// ---- enforcement ----

export interface AccessDenial {
  /** The function that called (for an AWS service's call: what it called for, e.g. a rule's ARN). */
  readonly functionName: string;
  readonly displayName: string;
  readonly roleName: string;
  /** Set when an AWS service principal called (events.amazonaws.com): the resource's own policy refused it. */
  readonly principal?: string;
  readonly action: string;
  readonly resource: string;
  readonly reason: 'explicit-deny' | 'no-allow';
  readonly statement?: string;
  readonly unevaluated: readonly string[];
  /** The error message AWS would send (`User: … is not authorized to perform: …`). */
  readonly message: string;
}

/** The checks of one running stack: by access key id, each function's compiled role. */
export class AccessControl {
  private readonly byKey: Map<string, FunctionIdentity>;

  constructor(readonly policies: IamPolicies) {
    this.byKey = new Map(policies.identities.map((i) => [i.accessKeyId, i]));
  }

  /** The function that signed a request, if a function did (anyone else is not checked). */
  identityOf(authorization: string | string[] | undefined): FunctionIdentity | undefined {
    const key = accessKeyIdOf(authorization);
    return key ? this.byKey.get(key) : undefined;
  }

  /** What a request of `service` asks for (x-amz-target without its prefix as `operation`). */
  requestsOf(service: IamService, operation: string, body: Record<string, unknown>): AccessRequest[] {
    const { region, accountId, tableArns, queueArns } = this.policies;
    switch (service) {
      case 'dynamodb':
        return dynamoDbAccess(operation, body, (name) => (name.startsWith('arn:') ? name : (tableArns[name] ?? `arn:aws:dynamodb:${region}:${accountId}:table/${name}`)));
      case 'sqs':
        return sqsAccess(operation, body, (nameOrUrl) => {
          const name = nameOrUrl.slice(nameOrUrl.lastIndexOf('/') + 1);
          return queueArns[name] ?? `arn:aws:sqs:${region}:${accountId}:${name}`;
        });
      case 'events':
        return eventBridgeAccess(operation, body, region, accountId);
    }
  }

  /** The first denied part of a request, or undefined when all of it is allowed (or the caller is not a function). */
  check(authorization: string | string[] | undefined, service: IamService, operation: string, body: Record<string, unknown>): AccessDenial | undefined {
    const identity = this.identityOf(authorization);
    if (!identity) return undefined;
    const context = conditionContext(identity, this.policies.region, this.policies.accountId);
    for (const request of this.requestsOf(service, operation, body)) {
      const decision = evaluate(identity.statements, request, context);
      if (decision.allowed) continue;
      return {
        functionName: identity.functionName,
        displayName: identity.displayName,
        roleName: identity.roleName,
        action: request.action,
        resource: request.resource,
        reason: decision.reason,
        ...(decision.statement ? { statement: decision.statement } : {}),
        unevaluated: decision.unevaluated,
        message: deniedMessage(identity, request, decision, service),
      };
    }
    return undefined;
  }
}

/**
 * AWS's wording (SQS names the action in lower case); when an Allow statement matched but its
 * Condition could not be evaluated locally, the message says so.
 */
function deniedMessage(identity: FunctionIdentity, request: AccessRequest, decision: Extract<Decision, { allowed: false }>, service: IamService): string {
  const action = service === 'sqs' ? request.action.toLowerCase() : request.action;
  const head = `User: ${identity.principalArn} is not authorized to perform: ${action} on resource: ${request.resource}`;
  if (decision.reason === 'explicit-deny') return `${head} with an explicit deny in an identity-based policy`;
  const note = decision.unevaluated.length > 0 ? ` (local runtime: allowed only under a Condition the local IAM evaluator does not understand: ${decision.unevaluated.join('; ')})` : '';
  return `${head} because no identity-based policy allows the ${action} action${note}`;
}

/** The runtime's log line for a denial (a warning: it starts with `!`). */
export function formatDenial(denial: AccessDenial): string {
  const whose = denial.principal ? `of the resource's policy allows ${denial.principal}` : `of role ${denial.roleName} allows it`;
  const why =
    denial.reason === 'explicit-deny'
      ? `explicit Deny in ${denial.statement}`
      : `no statement ${whose}${denial.unevaluated.length > 0 ? `; Condition not understood locally in ${denial.unevaluated.join('; ')}` : ''}`;
  return `! IAM: ${denial.displayName} was denied ${denial.action} on ${denial.resource} (${why})`;
}
