/**
 * The CloudFormation template as the local runtime reads it: types, a dependency walk and an
 * interpreter for the intrinsic functions CDK emits. Anything it cannot evaluate faithfully is
 * refused by name (UnsupportedTemplateError), never guessed at.
 */

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
  readonly Condition?: string;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { Value: unknown; Description?: string; Condition?: string }>;
  readonly Parameters?: Record<string, { Type?: string; Default?: unknown }>;
  readonly Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  readonly Conditions?: Record<string, unknown>;
}

/** A template feature the local runtime does not implement; the message names it. */
export class UnsupportedTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedTemplateError';
  }
}

/** The local stand-ins for what CloudFormation would report about a created resource. */
export interface PhysicalResource {
  /** What `Ref` returns (a name, URL or id depending on the type). */
  readonly ref: string;
  /** What `Fn::GetAtt` returns, by attribute name. */
  readonly attributes: Readonly<Record<string, string>>;
}

export interface ResolverEnvironment {
  readonly region: string;
  readonly accountId: string;
  readonly stackName: string;
  readonly partition?: string;
  readonly urlSuffix?: string;
}

/** A sentinel CloudFormation uses to drop a property (`Ref: AWS::NoValue`). */
const NO_VALUE = Symbol('AWS::NoValue');

export function resourcesOfType(template: CfnTemplate, type: string): Array<[string, CfnResource]> {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

export function requireResource(template: CfnTemplate, logicalId: string): CfnResource {
  const resource = template.Resources[logicalId];
  if (!resource) throw new UnsupportedTemplateError(`the template has no resource "${logicalId}"`);
  return resource;
}

/** Logical ids a value refers to through Ref, Fn::GetAtt or `${...}` in Fn::Sub. */
export function referencedLogicalIds(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) referencedLogicalIds(v, into);
  } else if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1 && keys[0] === 'Ref' && typeof obj.Ref === 'string' && !obj.Ref.startsWith('AWS::')) {
      into.add(obj.Ref);
    } else if (keys.length === 1 && keys[0] === 'Fn::GetAtt') {
      const target = obj['Fn::GetAtt'];
      const id = Array.isArray(target) ? target[0] : typeof target === 'string' ? target.split('.')[0] : undefined;
      if (typeof id === 'string') into.add(id);
    } else if (keys.length === 1 && keys[0] === 'Fn::Sub') {
      const sub = obj['Fn::Sub'];
      const text = Array.isArray(sub) ? sub[0] : sub;
      if (typeof text === 'string') {
        for (const m of text.matchAll(/\$\{([^!}][^}]*)\}/g)) {
          const name = m[1]!.split('.')[0]!;
          if (!name.startsWith('AWS::')) into.add(name);
        }
      }
      if (Array.isArray(sub)) referencedLogicalIds(sub[1], into);
    } else {
      for (const v of Object.values(obj)) referencedLogicalIds(v, into);
    }
  }
  return into;
}

/**
 * Orders `ids` so that each comes after the ids (from the same set) it references or depends on,
 * e.g. a dead-letter queue before the queue whose RedrivePolicy points at it.
 */
export function dependencyOrder(template: CfnTemplate, ids: readonly string[]): string[] {
  const wanted = new Set(ids);
  const ordered: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, path: string[]): void => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') {
      throw new UnsupportedTemplateError(`circular dependency between resources: ${[...path, id].join(' → ')}`);
    }
    state.set(id, 'visiting');
    const resource = requireResource(template, id);
    const deps = referencedLogicalIds(resource.Properties ?? {});
    const dependsOn = resource.DependsOn === undefined ? [] : Array.isArray(resource.DependsOn) ? resource.DependsOn : [resource.DependsOn];
    for (const d of dependsOn) deps.add(d);
    for (const dep of deps) if (wanted.has(dep) && dep !== id) visit(dep, [...path, id]);
    state.set(id, 'done');
    ordered.push(id);
  };
  for (const id of ids) visit(id, []);
  return ordered;
}

/**
 * Evaluates intrinsic functions against the local physical resources. Supported: Ref (resources,
 * parameters with defaults, pseudo parameters), Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select,
 * Fn::Split, Fn::FindInMap, Fn::Base64. Anything else (Fn::If, Fn::ImportValue, Fn::GetAZs, ...)
 * is refused with its name and the place it was found.
 */
export class TemplateResolver {
  private readonly physical = new Map<string, PhysicalResource>();

  constructor(
    readonly template: CfnTemplate,
    readonly env: ResolverEnvironment,
  ) {}

  define(logicalId: string, resource: PhysicalResource): void {
    this.physical.set(logicalId, resource);
  }

  physicalOf(logicalId: string): PhysicalResource | undefined {
    return this.physical.get(logicalId);
  }

  /** Resolves a value deeply; `where` names the property in error messages. */
  resolve(value: unknown, where: string): unknown {
    const out = this.walk(value, where);
    return out === NO_VALUE ? undefined : out;
  }

  /** Resolves and insists on a string. */
  resolveString(value: unknown, where: string): string {
    const out = this.resolve(value, where);
    if (typeof out === 'number' || typeof out === 'boolean') return String(out);
    if (typeof out !== 'string') throw new UnsupportedTemplateError(`${where}: expected a string, got ${JSON.stringify(out)}`);
    return out;
  }

  private walk(value: unknown, where: string): unknown {
    if (Array.isArray(value)) {
      return value.map((v, i) => this.walk(v, `${where}[${i}]`)).filter((v) => v !== NO_VALUE);
    }
    if (value === null || typeof value !== 'object') return value;
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0]!.startsWith('Fn::') || keys[0] === 'Condition')) {
      return this.intrinsic(keys[0]!, obj[keys[0]!], where);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      const r = this.walk(v, `${where}.${k}`);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
  }

  private intrinsic(name: string, arg: unknown, where: string): unknown {
    switch (name) {
      case 'Ref':
        if (typeof arg !== 'string') throw new UnsupportedTemplateError(`${where}: Ref needs a name`);
        return this.ref(arg, where);
      case 'Fn::GetAtt': {
        const [id, attr] = Array.isArray(arg) ? [arg[0], this.walk(arg[1], where)] : typeof arg === 'string' ? splitOnce(arg, '.') : [];
        if (typeof id !== 'string' || typeof attr !== 'string') throw new UnsupportedTemplateError(`${where}: malformed Fn::GetAtt ${JSON.stringify(arg)}`);
        return this.getAtt(id, attr, where);
      }
      case 'Fn::Join': {
        if (!Array.isArray(arg) || typeof arg[0] !== 'string') throw new UnsupportedTemplateError(`${where}: malformed Fn::Join`);
        const parts = this.walk(arg[1], where);
        if (!Array.isArray(parts)) throw new UnsupportedTemplateError(`${where}: Fn::Join needs a list`);
        return parts.map((p) => this.scalar(p, where)).join(arg[0]);
      }
      case 'Fn::Sub':
        return this.sub(arg, where);
      case 'Fn::Select': {
        if (!Array.isArray(arg)) throw new UnsupportedTemplateError(`${where}: malformed Fn::Select`);
        const index = Number(this.walk(arg[0], where));
        const list = this.walk(arg[1], where);
        if (!Array.isArray(list) || !Number.isInteger(index) || index < 0 || index >= list.length) {
          throw new UnsupportedTemplateError(`${where}: Fn::Select index ${index} out of range`);
        }
        return list[index];
      }
      case 'Fn::Split': {
        if (!Array.isArray(arg) || typeof arg[0] !== 'string') throw new UnsupportedTemplateError(`${where}: malformed Fn::Split`);
        return this.scalar(this.walk(arg[1], where), where).split(arg[0]);
      }
      case 'Fn::FindInMap': {
        if (!Array.isArray(arg) || arg.length !== 3) throw new UnsupportedTemplateError(`${where}: malformed Fn::FindInMap`);
        const [map, top, second] = arg.map((a) => this.scalar(this.walk(a, where), where)) as [string, string, string];
        const found = this.template.Mappings?.[map]?.[top]?.[second];
        if (found === undefined) throw new UnsupportedTemplateError(`${where}: Fn::FindInMap ${map}.${top}.${second} not found`);
        return found;
      }
      case 'Fn::Base64':
        return Buffer.from(this.scalar(this.walk(arg, where), where)).toString('base64');
      default:
        throw new UnsupportedTemplateError(`${where}: intrinsic function ${name} is not supported by the local runtime`);
    }
  }

  private scalar(value: unknown, where: string): string {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw new UnsupportedTemplateError(`${where}: expected a string value, got ${JSON.stringify(value)}`);
  }

  private ref(name: string, where: string): unknown {
    switch (name) {
      case 'AWS::Region':
        return this.env.region;
      case 'AWS::AccountId':
        return this.env.accountId;
      case 'AWS::Partition':
        return this.env.partition ?? 'aws';
      case 'AWS::URLSuffix':
        return this.env.urlSuffix ?? 'amazonaws.com';
      case 'AWS::StackName':
        return this.env.stackName;
      case 'AWS::StackId':
        return `arn:aws:cloudformation:${this.env.region}:${this.env.accountId}:stack/${this.env.stackName}/local`;
      case 'AWS::NoValue':
        return NO_VALUE;
    }
    if (name.startsWith('AWS::')) throw new UnsupportedTemplateError(`${where}: pseudo parameter ${name} is not supported by the local runtime`);
    const parameter = this.template.Parameters?.[name];
    if (parameter) {
      if (parameter.Default === undefined) throw new UnsupportedTemplateError(`${where}: parameter ${name} has no default value`);
      return parameter.Default;
    }
    const physical = this.physical.get(name);
    if (physical) return physical.ref;
    const resource = this.template.Resources[name];
    if (!resource) throw new UnsupportedTemplateError(`${where}: Ref to unknown name "${name}"`);
    throw new UnsupportedTemplateError(`${where}: Ref to ${resource.Type} "${name}", which the local runtime does not create`);
  }

  private getAtt(id: string, attribute: string, where: string): unknown {
    const physical = this.physical.get(id);
    const resource = this.template.Resources[id];
    if (!resource) throw new UnsupportedTemplateError(`${where}: Fn::GetAtt of unknown resource "${id}"`);
    const value = physical?.attributes[attribute];
    if (value === undefined) {
      throw new UnsupportedTemplateError(`${where}: Fn::GetAtt ${id}.${attribute} (${resource.Type}) is not supported by the local runtime`);
    }
    return value;
  }

  private sub(arg: unknown, where: string): string {
    const [text, vars] = Array.isArray(arg) ? [arg[0], arg[1] as Record<string, unknown> | undefined] : [arg, undefined];
    if (typeof text !== 'string') throw new UnsupportedTemplateError(`${where}: malformed Fn::Sub`);
    return text.replace(/\$\{(!?)([^}]+)\}/g, (_whole, bang: string, name: string) => {
      if (bang) return '${' + name + '}';
      if (vars && Object.prototype.hasOwnProperty.call(vars, name)) return this.scalar(this.walk(vars[name], where), where);
      const dot = name.indexOf('.');
      if (dot > 0 && !name.startsWith('AWS::')) return this.scalar(this.getAtt(name.slice(0, dot), name.slice(dot + 1), where), where);
      return this.scalar(this.ref(name, where), where);
    });
  }
}

function splitOnce(text: string, separator: string): [string, string] | [] {
  const i = text.indexOf(separator);
  return i < 0 ? [] : [text.slice(0, i), text.slice(i + 1)];
}
