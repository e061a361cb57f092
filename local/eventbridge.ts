/**
 * A local EventBridge endpoint: `PutEvents` over HTTP exactly as `@aws-sdk/client-eventbridge`
 * sends it (AWS JSON 1.1, `X-Amz-Target: AWSEvents.PutEvents`), per-entry results like the real
 * API, and routing of each accepted event through the template's rules to their targets with the
 * targets' retry policy and dead-letter queue.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { type MessageAttributeValue, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type EventMatcher, compilePattern } from './patterns';
import { type AccessControl, type AccessDenial, EVENTS_PRINCIPAL, type ResourcePolicies, serviceContext, serviceDenial, servicePrincipalDecision } from './iam';
import { errorMessage } from '../lambdas/core/errors';
import { type CfnTemplate, type TemplateResolver, UnsupportedTemplateError, resourcesOfType } from './template';
import { stringifyJson } from '../lambdas/core/json';
import { isPermanentSqsRefusal } from './sqs-refusal';

export const DEFAULT_BUS = 'default';

/** The event as EventBridge hands it to a target. */
export interface BusEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: string[];
  readonly detail: Record<string, unknown>;
  /** Set on events a replay puts back on the bus (as EventBridge does). */
  readonly 'replay-name'?: string;
}

/** Hands the (transformed) event to a target; throws when the target could not be reached. */
export type TargetDelivery = (payload: unknown) => Promise<void>;

export interface TargetSpec {
  readonly id: string;
  readonly arn: string;
  readonly deliver: TargetDelivery;
  readonly transform: (event: BusEvent) => unknown;
  /** RetryPolicy.MaximumRetryAttempts (EventBridge default 185). */
  readonly maximumRetryAttempts: number;
  /** RetryPolicy.MaximumEventAgeInSeconds (EventBridge default 24 h). */
  readonly maximumEventAgeSeconds: number;
  readonly deadLetterQueueUrl?: string;
  readonly deadLetterQueueArn?: string;
}

export interface RuleSpec {
  readonly logicalId: string;
  readonly arn: string;
  readonly busName: string;
  readonly matches: EventMatcher;
  readonly targets: readonly TargetSpec[];
}

export interface BusSpec {
  readonly name: string;
  readonly arn: string;
}

/** An archive of the template: the events of its bus that match its pattern, kept RetentionDays (0: always). */
export interface ArchiveSpec {
  readonly logicalId: string;
  readonly arn: string;
  readonly busName: string;
  readonly matches: EventMatcher;
  readonly retentionDays: number;
}

export interface RoutingDeps {
  /** Resolves a target ARN to a way of delivering to it; throws (by name) for unsupported targets. */
  readonly resolveTarget: (arn: string, where: string) => TargetDelivery;
  /** The URL of one of the template's queues, by ARN (for dead-letter queues). */
  readonly queueUrlOfArn: (arn: string) => string | undefined;
}

/**
 * The template's buses (and the default bus), defined in the resolver so that references to them
 * resolve: called at provisioning, since functions get a bus name in their environment, and again
 * by compileRouting (defining twice is harmless).
 */
export function defineBuses(template: CfnTemplate, resolver: TemplateResolver): BusSpec[] {
  const { region, accountId } = resolver.env;
  const busArn = (name: string) => `arn:aws:events:${region}:${accountId}:event-bus/${name}`;
  const buses: BusSpec[] = [{ name: DEFAULT_BUS, arn: busArn(DEFAULT_BUS) }];
  for (const [id, resource] of resourcesOfType(template, 'AWS::Events::EventBus')) {
    const name = resolver.resolveString(resource.Properties?.Name ?? id, `${id}.Properties.Name`);
    if (resource.Properties?.EventSourceName !== undefined) throw new UnsupportedTemplateError(`${id}: partner event buses (EventSourceName) are not supported by the local runtime`);
    buses.push({ name, arn: busArn(name) });
    resolver.define(id, { ref: name, attributes: { Name: name, Arn: busArn(name) } });
  }
  return buses;
}

/**
 * Reads the buses and rules of the template. Every rule pattern is compiled now, so an operator
 * the local runtime does not implement stops the start-up with its name.
 */
export function compileRouting(template: CfnTemplate, resolver: TemplateResolver, deps: RoutingDeps): { buses: BusSpec[]; rules: RuleSpec[]; archives: ArchiveSpec[] } {
  const { region, accountId } = resolver.env;
  const buses = defineBuses(template, resolver);
  const rules: RuleSpec[] = [];
  for (const [id, resource] of resourcesOfType(template, 'AWS::Events::Rule')) {
    const props = resource.Properties ?? {};
    const where = `rule ${id}`;
    const busRef = props.EventBusName === undefined ? DEFAULT_BUS : resolver.resolveString(props.EventBusName, `${id}.Properties.EventBusName`);
    const busName = busRef.startsWith('arn:') ? busRef.slice(busRef.lastIndexOf('/') + 1) : busRef;
    const name = typeof props.Name === 'string' ? props.Name : id;
    const arn = `arn:aws:events:${region}:${accountId}:rule/${busName === DEFAULT_BUS ? '' : `${busName}/`}${name}`;
    resolver.define(id, { ref: name, attributes: { Arn: arn } });
    if (props.ScheduleExpression !== undefined) throw new UnsupportedTemplateError(`${where}: ScheduleExpression rules are not supported by the local runtime`);
    if (props.EventPattern === undefined) throw new UnsupportedTemplateError(`${where}: a rule without EventPattern is not supported by the local runtime`);
    if (props.State !== undefined && props.State !== 'ENABLED' && props.State !== 'DISABLED') {
      throw new UnsupportedTemplateError(`${where}: rule State ${String(props.State)} is not supported by the local runtime`);
    }
    const matches = compilePattern(resolver.resolve(props.EventPattern, `${id}.Properties.EventPattern`), where);
    if (props.State === 'DISABLED') continue;
    const targets = ((resolver.resolve(props.Targets ?? [], `${id}.Properties.Targets`) ?? []) as Array<Record<string, unknown>>).map((t, i) =>
      compileTarget(t, `${where} target ${String(t.Id ?? i)}`, deps),
    );
    rules.push({ logicalId: id, arn, busName, matches, targets });
  }
  return { buses, rules, archives: compileArchives(template, resolver, buses) };
}

function compileArchives(template: CfnTemplate, resolver: TemplateResolver, buses: readonly BusSpec[]): ArchiveSpec[] {
  const { region, accountId } = resolver.env;
  return resourcesOfType(template, 'AWS::Events::Archive').map(([id, resource]) => {
    const props = resource.Properties ?? {};
    const where = `archive ${id}`;
    const source = resolver.resolveString(props.SourceArn, `${id}.Properties.SourceArn`);
    const bus = buses.find((b) => b.arn === source);
    if (!bus) throw new UnsupportedTemplateError(`${where}: SourceArn ${source} is not a bus of this template`);
    const name = typeof props.ArchiveName === 'string' ? props.ArchiveName : id;
    const arn = `arn:aws:events:${region}:${accountId}:archive/${name}`;
    resolver.define(id, { ref: name, attributes: { Arn: arn, ArchiveName: name } });
    // An archive without a pattern keeps every event of its bus.
    const matches = props.EventPattern === undefined ? () => true : compilePattern(resolver.resolve(props.EventPattern, `${id}.Properties.EventPattern`), where);
    return { logicalId: id, arn, busName: bus.name, matches, retentionDays: Number(props.RetentionDays ?? 0) };
  });
}

const SUPPORTED_TARGET_KEYS = ['Id', 'Arn', 'RetryPolicy', 'DeadLetterConfig', 'Input', 'InputPath', 'RoleArn'];

function compileTarget(target: Record<string, unknown>, where: string, deps: RoutingDeps): TargetSpec {
  for (const key of Object.keys(target)) {
    if (!SUPPORTED_TARGET_KEYS.includes(key)) throw new UnsupportedTemplateError(`${where}: target option ${key} is not supported by the local runtime`);
  }
  const arn = String(target.Arn);
  const retry = (target.RetryPolicy ?? {}) as { MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number };
  const dlq = (target.DeadLetterConfig as { Arn?: string } | undefined)?.Arn;
  let transform: (event: BusEvent) => unknown = (event) => event;
  if (typeof target.Input === 'string') {
    const constant = JSON.parse(target.Input) as unknown;
    transform = () => constant;
  } else if (typeof target.InputPath === 'string') {
    const path = target.InputPath;
    if (!/^\$(\.[A-Za-z0-9_-]+)*$/.test(path)) throw new UnsupportedTemplateError(`${where}: InputPath ${path} is not supported by the local runtime`);
    const keys = path.split('.').slice(1);
    transform = (event) => keys.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), event);
  }
  return {
    id: String(target.Id),
    arn,
    deliver: deps.resolveTarget(arn, where),
    transform,
    maximumRetryAttempts: Number(retry.MaximumRetryAttempts ?? 185),
    maximumEventAgeSeconds: Number(retry.MaximumEventAgeInSeconds ?? 86_400),
    deadLetterQueueUrl: dlq === undefined ? undefined : dlqUrl(dlq, where, deps),
    deadLetterQueueArn: dlq,
  };
}

/** What EventBridge asks of a target it calls, by the target's kind (an SNS topic outside the stack: not checked). */
function targetAction(arn: string): string | undefined {
  if (/^arn:aws[a-z-]*:lambda:/.test(arn)) return 'lambda:InvokeFunction';
  if (/^arn:aws[a-z-]*:sqs:/.test(arn)) return 'sqs:SendMessage';
  return undefined;
}

function dlqUrl(arn: string, where: string, deps: RoutingDeps): string {
  const url = deps.queueUrlOfArn(arn);
  if (!url) throw new UnsupportedTemplateError(`${where}: dead-letter queue ${arn} is not a queue of this template`);
  return url;
}

/** A per-entry result of PutEvents. */
export type PutEventsResultEntry = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

export interface PutEventsRequestEntry {
  Source?: unknown;
  DetailType?: unknown;
  Detail?: unknown;
  EventBusName?: unknown;
  Resources?: unknown;
  Time?: unknown;
  TraceHeader?: unknown;
}

/** A whole-request error of the EventBridge API. */
export class EventBridgeApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}

const MAX_ENTRIES = 10;
/** Events a local archive keeps at most (memory only). */
const MAX_ARCHIVED = 100_000;

type ReplayState = 'STARTING' | 'RUNNING' | 'CANCELLING' | 'COMPLETED' | 'CANCELLED' | 'FAILED';

interface Replay {
  readonly name: string;
  readonly arn: string;
  readonly description?: string;
  readonly archiveArn: string;
  readonly destination: { Arn: string; FilterArns?: string[] };
  readonly start: number;
  readonly end: number;
  state: ReplayState;
  readonly startedAt: number;
  endedAt?: number;
  lastReplayed?: number;
}

/** DescribeReplay's answer (times as the JSON protocol carries them: epoch seconds). */
function replayView(r: Replay): Record<string, unknown> {
  return {
    ReplayName: r.name,
    ReplayArn: r.arn,
    ...(r.description !== undefined ? { Description: r.description } : {}),
    State: r.state,
    EventSourceArn: r.archiveArn,
    Destination: r.destination,
    EventStartTime: r.start / 1000,
    EventEndTime: r.end / 1000,
    ReplayStartTime: r.startedAt / 1000,
    ...(r.lastReplayed !== undefined ? { EventLastReplayedTime: r.lastReplayed / 1000 } : {}),
    ...(r.endedAt !== undefined ? { ReplayEndTime: r.endedAt / 1000 } : {}),
  };
}

/** A timestamp of the JSON protocol (epoch seconds, possibly fractional) or an ISO string, as ms. */
function epochMs(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value * 1000;
  if (typeof value === 'string') {
    const ms = /^\d+(\.\d+)?$/.test(value) ? Number(value) * 1000 : Date.parse(value);
    return Number.isFinite(ms) ? ms : undefined;
  }
  return undefined;
}
const MAX_REQUEST_BYTES = 256 * 1024;

export interface LocalEventBridgeDeps {
  readonly sqs: SQSClient;
  readonly region: string;
  readonly accountId: string;
  readonly log: (line: string) => void;
  /** Delay before target retry n (ms); EventBridge backs off exponentially, locally in seconds. */
  readonly targetRetryDelayMs?: (attempt: number) => number;
  /** Scales archive retention (tests: 1e-5 makes a day about a second); default 1. */
  readonly retentionScale?: number;
  /** The archive's clock, for its retention (tests: a clock they move); default Date.now. */
  readonly archiveClock?: () => number;
}

export class LocalEventBridge {
  private server: http.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  endpoint = '';
  private buses: readonly BusSpec[] = [];
  private rules: readonly RuleSpec[] = [];
  private archives: readonly ArchiveSpec[] = [];
  /** What each archive holds, oldest first: the event as routed and when it was archived (ms). */
  private readonly archived = new Map<string, Array<{ event: BusEvent; at: number }>>();
  private readonly replays = new Map<string, Replay>();
  private access: { control: AccessControl; onDenied: (denial: AccessDenial) => void } | undefined;
  private resourcePolicies: { policies: ResourcePolicies; onDenied: (denial: AccessDenial) => void } | undefined;

  constructor(private readonly deps: LocalEventBridgeDeps) {}

  /** From now on, checks the calls the functions make (signed with their own access key ids) against their roles. */
  enforceIam(control: AccessControl, onDenied: (denial: AccessDenial) => void): void {
    this.access = { control, onDenied };
  }

  /**
   * From now on, EventBridge's own calls are checked as on AWS against the resource-based policy
   * of what they reach: invoking a Lambda target (its AWS::Lambda::Permission), sending to an SQS
   * target or a dead-letter queue (its AWS::SQS::QueuePolicy), as events.amazonaws.com for the rule.
   */
  enforceResourcePolicies(policies: ResourcePolicies, onDenied: (denial: AccessDenial) => void): void {
    this.resourcePolicies = { policies, onDenied };
  }

  /** Sets the buses, rules and archives (the endpoint can listen before the functions it targets exist). */
  configure(routing: { buses: readonly BusSpec[]; rules: readonly RuleSpec[]; archives?: readonly ArchiveSpec[] }): void {
    this.buses = routing.buses;
    this.rules = routing.rules;
    this.archives = routing.archives ?? [];
  }

  async start(): Promise<string> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.endpoint = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    return this.endpoint;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** PutEvents: validates each entry like AWS, routes the accepted ones, returns per-entry results. */
  putEvents(request: { Entries?: unknown }): { FailedEntryCount: number; Entries: PutEventsResultEntry[] } {
    const entries = request.Entries;
    if (!Array.isArray(entries) || entries.length === 0) {
      throw new EventBridgeApiError('ValidationException', "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null");
    }
    if (entries.length > MAX_ENTRIES) {
      throw new EventBridgeApiError(
        'ValidationException',
        `1 validation error detected: Value '${JSON.stringify(entries).slice(0, 100)}...' at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ENTRIES}`,
      );
    }
    const size = entries.reduce<number>((sum, e) => sum + entrySize(e as PutEventsRequestEntry), 0);
    if (size > MAX_REQUEST_BYTES) throw new EventBridgeApiError('ValidationException', 'Total size of the entries in the request is over the limit.');
    const results = entries.map((e) => this.accept(e as PutEventsRequestEntry));
    return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
  }

  private accept(entry: PutEventsRequestEntry): PutEventsResultEntry {
    const required = (field: 'Source' | 'DetailType' | 'Detail') => {
      const v = entry[field];
      return typeof v !== 'string' || v.length === 0 ? { ErrorCode: 'InvalidArgument', ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.` } : undefined;
    };
    const missing = required('Source') ?? required('DetailType') ?? required('Detail');
    if (missing) return missing;
    const source = entry.Source as string;
    if (source.startsWith('aws.')) return { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source.' };
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail as string);
    } catch {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    const busRef = typeof entry.EventBusName === 'string' && entry.EventBusName.length > 0 ? entry.EventBusName : DEFAULT_BUS;
    const bus = this.buses.find((b) => b.name === busRef || b.arn === busRef);
    if (!bus) return { ErrorCode: 'InvalidArgument', ErrorMessage: `Parameter EventBusName is not valid. Reason: Event bus ${busRef} does not exist.` };
    const time = eventTime(entry.Time);
    if (time === undefined) return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Time is not valid.' };
    const event: BusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType as string,
      source,
      account: this.deps.accountId,
      time,
      region: this.deps.region,
      resources: Array.isArray(entry.Resources) ? entry.Resources.map(String) : [],
      detail: detail as Record<string, unknown>,
    };
    this.archive(bus, event);
    this.route(bus, event);
    return { EventId: event.id };
  }

  private route(bus: BusSpec, event: BusEvent, onlyRules?: ReadonlySet<string>): void {
    for (const rule of this.rules) {
      if (rule.busName !== bus.name || !rule.matches(event)) continue;
      if (onlyRules && !onlyRules.has(rule.arn)) continue;
      for (const target of rule.targets) void this.deliver(rule, target, event);
    }
  }

  /** Keeps the event in every archive of its bus whose pattern it matches (replayed events are not archived again). */
  private archive(bus: BusSpec, event: BusEvent): void {
    const now = (this.deps.archiveClock ?? Date.now)();
    for (const archive of this.archives) {
      if (archive.busName !== bus.name || !archive.matches(event)) continue;
      const kept = this.keptEvents(archive, now);
      kept.push({ event, at: now });
      // Memory only: a local archive keeps the newest MAX_ARCHIVED events.
      if (kept.length > MAX_ARCHIVED) kept.splice(0, kept.length - MAX_ARCHIVED);
    }
  }

  /** The archive's events, those past its retention dropped first. */
  private keptEvents(archive: ArchiveSpec, now: number): Array<{ event: BusEvent; at: number }> {
    let kept = this.archived.get(archive.arn);
    if (!kept) this.archived.set(archive.arn, (kept = []));
    if (archive.retentionDays > 0) {
      const oldest = now - archive.retentionDays * 86_400_000 * (this.deps.retentionScale ?? 1);
      const expired = kept.findIndex((e) => e.at >= oldest);
      kept.splice(0, expired === -1 ? kept.length : expired);
    }
    return kept;
  }

  /** StartReplay: validates like AWS, then replays the window's archived events in the background. */
  startReplay(request: Record<string, unknown>): Record<string, unknown> {
    const name = request.ReplayName;
    if (typeof name !== 'string' || !/^[.\-_A-Za-z0-9]{1,64}$/.test(name)) {
      throw new EventBridgeApiError('ValidationException', `1 validation error detected: Value '${String(name)}' at 'replayName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+`);
    }
    if (this.replays.has(name)) throw new EventBridgeApiError('ResourceAlreadyExistsException', `Replay ${name} already exists.`);
    const archive = this.archives.find((a) => a.arn === request.EventSourceArn);
    if (!archive) throw new EventBridgeApiError('ResourceNotFoundException', `Archive ${String(request.EventSourceArn)} does not exist.`);
    const start = epochMs(request.EventStartTime);
    const end = epochMs(request.EventEndTime);
    if (start === undefined || end === undefined) throw new EventBridgeApiError('ValidationException', 'Parameter EventStartTime and EventEndTime are required.');
    if (end <= start) throw new EventBridgeApiError('ValidationException', 'Parameter EventEndTime is not valid. Reason: EventEndTime must be after EventStartTime.');
    if (end > Date.now() + 1000) throw new EventBridgeApiError('ValidationException', 'Parameter EventEndTime is not valid. Reason: EventEndTime cannot be in the future.');
    const destination = (request.Destination ?? {}) as { Arn?: unknown; FilterArns?: unknown };
    const bus = this.buses.find((b) => b.arn === destination.Arn);
    if (!bus) throw new EventBridgeApiError('ValidationException', `Parameter Destination.Arn is not valid. Reason: ${String(destination.Arn)} is not an event bus.`);
    if (bus.name !== archive.busName) throw new EventBridgeApiError('ValidationException', 'Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.');
    const filterArns = Array.isArray(destination.FilterArns) ? destination.FilterArns.map(String) : undefined;
    for (const arn of filterArns ?? []) {
      if (!this.rules.some((r) => r.arn === arn && r.busName === bus.name)) throw new EventBridgeApiError('ValidationException', `Parameter Destination.FilterArns is not valid. Reason: Rule ${arn} does not exist on the destination bus.`);
    }
    const replay: Replay = {
      name,
      arn: `arn:aws:events:${this.deps.region}:${this.deps.accountId}:replay/${name}`,
      description: typeof request.Description === 'string' ? request.Description : undefined,
      archiveArn: archive.arn,
      destination: { Arn: bus.arn, ...(filterArns ? { FilterArns: filterArns } : {}) },
      start,
      end,
      state: 'STARTING',
      startedAt: Date.now(),
    };
    this.replays.set(name, replay);
    void this.runReplay(replay, archive, bus, filterArns ? new Set(filterArns) : undefined);
    return { ReplayArn: replay.arn, State: replay.state, ReplayStartTime: replay.startedAt / 1000 };
  }

  private async runReplay(replay: Replay, archive: ArchiveSpec, bus: BusSpec, onlyRules: ReadonlySet<string> | undefined): Promise<void> {
    await this.sleep(0);
    // Cancelled while it was starting: it stays CANCELLING and ends CANCELLED without replaying.
    if (replay.state === 'STARTING') replay.state = 'RUNNING';
    const events = this.keptEvents(archive, (this.deps.archiveClock ?? Date.now)())
      .filter(({ event }) => {
        const t = Date.parse(event.time);
        return t >= replay.start && t < replay.end;
      })
      .sort((a, b) => Date.parse(a.event.time) - Date.parse(b.event.time));
    for (const { event } of events) {
      if (this.stopped || (replay.state as ReplayState) === 'CANCELLING') break;
      // The original event, id and all, marked with the replay's name.
      this.route(bus, { ...event, 'replay-name': replay.name }, onlyRules);
      replay.lastReplayed = Date.parse(event.time);
      // Let the deliveries start between events, as a real replay is spread over time.
      await this.sleep(1);
    }
    replay.state = (replay.state as ReplayState) === 'CANCELLING' ? 'CANCELLED' : 'COMPLETED';
    replay.endedAt = Date.now();
  }

  describeReplay(request: Record<string, unknown>): Record<string, unknown> {
    const replay = this.replays.get(String(request.ReplayName));
    if (!replay) throw new EventBridgeApiError('ResourceNotFoundException', `Replay ${String(request.ReplayName)} does not exist.`);
    return replayView(replay);
  }

  listReplays(request: Record<string, unknown>): Record<string, unknown> {
    const prefix = typeof request.NamePrefix === 'string' ? request.NamePrefix : '';
    return { Replays: [...this.replays.values()].filter((r) => r.name.startsWith(prefix)).map(replayView) };
  }

  cancelReplay(request: Record<string, unknown>): Record<string, unknown> {
    const replay = this.replays.get(String(request.ReplayName));
    if (!replay) throw new EventBridgeApiError('ResourceNotFoundException', `Replay ${String(request.ReplayName)} does not exist.`);
    if (replay.state !== 'STARTING' && replay.state !== 'RUNNING') throw new EventBridgeApiError('IllegalStatusException', `Replay ${replay.name} is ${replay.state}.`);
    replay.state = 'CANCELLING';
    return { ReplayArn: replay.arn, State: replay.state };
  }

  /**
   * Whether EventBridge may do `action` on `resource` for `rule`, by the resource's own policy; a
   * refusal is reported (runtime.accessDenials, the log) and returned. Not checked before
   * enforceResourcePolicies.
   */
  private refusal(rule: RuleSpec, action: string, resource: string): AccessDenial | undefined {
    if (!this.resourcePolicies) return undefined;
    const request = { action, resource };
    const decision = servicePrincipalDecision(this.resourcePolicies.policies, EVENTS_PRINCIPAL, request, serviceContext(rule.arn, this.deps.region, this.deps.accountId));
    if (decision.allowed) return undefined;
    const denial = serviceDenial(EVENTS_PRINCIPAL, { key: rule.arn, displayName: `EventBridge (rule ${rule.logicalId})` }, request, decision);
    this.resourcePolicies.onDenied(denial);
    return denial;
  }

  /**
   * EventBridge's delivery to one target: retries with backoff, then its dead-letter queue; a
   * target it may not call goes to the dead-letter queue at once.
   */
  private async deliver(rule: RuleSpec, target: TargetSpec, event: BusEvent): Promise<void> {
    const started = Date.now();
    const payload = target.transform(event);
    let lastError: unknown;
    let errorCode: string | undefined;
    let condition: string | undefined = 'MaximumRetryAttempts';
    let attempt = 0;
    // Missing permissions are not retried (AWS: "no retry attempts until action is taken").
    const action = targetAction(target.arn);
    const refused = action === undefined ? undefined : this.refusal(rule, action, target.arn.replace(/:\$LATEST$/, ''));
    if (refused) {
      lastError = new Error(refused.message);
      errorCode = 'NO_PERMISSIONS';
      condition = undefined;
    } else {
      for (; attempt <= target.maximumRetryAttempts; attempt++) {
        if (this.stopped) return;
        if (attempt > 0) {
          if ((Date.now() - started) / 1000 > target.maximumEventAgeSeconds) {
            condition = 'MaximumEventAgeInSeconds';
            break;
          }
          await this.sleep(this.deps.targetRetryDelayMs?.(attempt) ?? Math.min(250 * 2 ** (attempt - 1), 5_000));
          if (this.stopped) return;
        }
        try {
          await target.deliver(payload);
          return;
        } catch (error) {
          lastError = error;
          if (this.stopped) return;
        }
      }
    }
    const message = errorMessage(lastError);
    if (!target.deadLetterQueueUrl) {
      this.deps.log(`! rule ${rule.logicalId}: event ${event.id} could not be delivered to ${target.arn} (${message}) and the target has no dead-letter queue`);
      return;
    }
    if (target.deadLetterQueueArn !== undefined && this.refusal(rule, 'sqs:SendMessage', target.deadLetterQueueArn)) {
      this.deps.log(`! rule ${rule.logicalId}: event ${event.id} could not be delivered to ${target.arn} (${message}), and the policy of its dead-letter queue does not let EventBridge send it there: on AWS the event is lost (InvocationsFailedToBeSentToDLQ)`);
      return;
    }
    const attributes: Record<string, MessageAttributeValue> = {
      RULE_ARN: { DataType: 'String', StringValue: rule.arn },
      TARGET_ARN: { DataType: 'String', StringValue: target.arn },
      ERROR_CODE: { DataType: 'String', StringValue: errorCode ?? (lastError instanceof Error ? lastError.name : 'Error') },
      ERROR_MESSAGE: { DataType: 'String', StringValue: message.slice(0, 1000) },
      ...(condition === undefined ? {} : { EXHAUSTED_RETRY_CONDITION: { DataType: 'String', StringValue: condition } }),
      RETRY_ATTEMPTS: { DataType: 'Number', StringValue: String(Math.max(0, attempt - 1)) },
    };
    for (let i = 0; !this.stopped; i++) {
      try {
        await this.deps.sqs.send(new SendMessageCommand({ QueueUrl: target.deadLetterQueueUrl, MessageBody: stringifyJson(event), MessageAttributes: attributes }));
        this.deps.log(`! rule ${rule.logicalId}: event ${event.id} sent to the target's dead-letter queue (${message})`);
        return;
      } catch (error) {
        if (isPermanentSqsRefusal(error)) {
          this.deps.log(`! rule ${rule.logicalId}: event ${event.id} could not be delivered to ${target.arn} (${message}), and its dead-letter queue refused it (${errorMessage(error)}): on AWS the event is lost (InvocationsFailedToBeSentToDLQ)`);
          return;
        }
        await this.sleep(Math.min(250 * 2 ** i, 2000));
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const requestId = randomUUID();
    const reply = (status: number, body: unknown, errorType?: string) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        'content-length': Buffer.byteLength(text),
        'x-amzn-requestid': requestId,
        ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
      });
      res.end(text);
    };
    const fail = (error: EventBridgeApiError) => reply(error.status, { __type: error.type, message: error.message }, error.type);
    if (req.method !== 'POST') return fail(new EventBridgeApiError('UnknownOperationException', `${req.method} is not supported`));
    const target = String(req.headers['x-amz-target'] ?? '');
    const operations: Record<string, (body: Record<string, unknown>) => unknown> = {
      'AWSEvents.PutEvents': (b) => this.putEvents(b as { Entries?: unknown }),
      'AWSEvents.StartReplay': (b) => this.startReplay(b),
      'AWSEvents.DescribeReplay': (b) => this.describeReplay(b),
      'AWSEvents.ListReplays': (b) => this.listReplays(b),
      'AWSEvents.CancelReplay': (b) => this.cancelReplay(b),
    };
    const operation = operations[target];
    if (!operation) {
      return fail(new EventBridgeApiError('UnknownOperationException', `the local EventBridge implements ${Object.keys(operations).join(', ')}, not ${target || '(no X-Amz-Target)'}`));
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    } catch {
      return fail(new EventBridgeApiError('SerializationException', 'Start of structure or map found where not expected.'));
    }
    const request = (body !== null && typeof body === 'object' && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
    const denial = this.access?.control.check(req.headers.authorization, 'events', target.slice(target.indexOf('.') + 1), request);
    if (denial) {
      this.access!.onDenied(denial);
      return fail(new EventBridgeApiError('AccessDeniedException', denial.message));
    }
    try {
      reply(200, operation((body ?? {}) as Record<string, unknown>));
    } catch (error) {
      if (error instanceof EventBridgeApiError) return fail(error);
      reply(500, { __type: 'InternalException', message: errorMessage(error) }, 'InternalException');
    }
  }
}

/** The size AWS counts for an entry (eb-putevent-size). */
function entrySize(entry: PutEventsRequestEntry): number {
  const bytes = (v: unknown) => (typeof v === 'string' ? Buffer.byteLength(v) : 0);
  let size = entry.Time !== undefined ? 14 : 0;
  size += bytes(entry.Source) + bytes(entry.DetailType) + bytes(entry.Detail);
  if (Array.isArray(entry.Resources)) for (const r of entry.Resources) size += bytes(r);
  return size;
}

/** The event's `time`: the entry's Time (the SDK sends epoch seconds) or now, to the second. */
function eventTime(value: unknown): string | undefined {
  let date: Date;
  if (value === undefined || value === null) date = new Date();
  else if (typeof value === 'number') date = new Date(value * 1000);
  else if (typeof value === 'string') date = new Date(/^\d+(\.\d+)?$/.test(value) ? Number(value) * 1000 : value);
  else return undefined;
  if (Number.isNaN(date.getTime())) return undefined;
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
