/**
 * The CLI's pure parts in-process (option parsers, error lines, dead-letter message readers), and
 * command lines refused before any target is contacted, through the real CLI.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import type { Message } from '@aws-sdk/client-sqs';
import { readParkedEvent, readParkedJob } from '../../cli/dlq-view';
import { CliError, UsageError, errorLine } from '../../cli/cli-errors';
import { parseDuration, parseEventList, parseOneLine, parseSince, parseStatusFilter, parseSubscriptionUrl, parseTenant, parseUnixSeconds } from '../../cli/inputs';
import { fields, printable, table } from '../../cli/output';
import { devOptions } from '../../cli/commands/dev';
import { LocalRuntimeBusyError } from '../../local/instance-lock';
import { buildProgram } from '../../cli/program';
import { cli } from './helpers';
import { PARKED_ATTRIBUTES } from '../../lambdas/core/job';

const now = new Date('2025-11-28T12:00:00.000Z');

jest.setTimeout(30_000);

describe('option parsers', () => {
  test.each([
    ['30m', 30 * 60_000],
    ['24h', 24 * 3600_000],
    ['7d', 7 * 86_400_000],
    ['90s', 90_000],
    ['0s', 0],
  ])('duration %s', (text, ms) => {
    expect(parseDuration('--grace', text)).toBe(ms);
  });

  test.each(['24', '1w', '-1h', '1.5h', 'h', '', '31d'])('malformed or too long duration "%s" is a usage error', (text) => {
    expect(() => parseDuration('--grace', text)).toThrow(UsageError);
  });

  test('event lists: names, "*", typos with a hint, mixing "*" with names', () => {
    expect(parseEventList('--events', ' return_order.status.changed , payment_operation.status.changed')).toEqual(['return_order.status.changed', 'payment_operation.status.changed']);
    expect(parseEventList('--events', '*')).toEqual(['*']);
    expect(() => parseEventList('--events', 'sales_order.status.change')).toThrow('did you mean "sales_order.status.changed"?');
    expect(() => parseEventList('--events', '*,sales_order.status.changed')).toThrow('use either "*" or a list of event names');
    expect(() => parseEventList('--events', 'sales_order.status.changed,')).toThrow(UsageError);
  });

  test('status filters refuse empty values', () => {
    expect(parseStatusFilter('--status-filter', 'delivered, cancelled,delivered')).toEqual(['delivered', 'cancelled']);
    for (const bad of ['', 'a,,b', 'a,', ' ']) expect(() => parseStatusFilter('--status-filter', bad)).toThrow(UsageError);
  });

  test('URLs follow the target policy: the local runtime allows loopback http, a stack does not', () => {
    const local = { allowPrivate: true, allowHttp: true };
    const stack = { allowPrivate: false, allowHttp: false };
    expect(parseSubscriptionUrl('--url', 'http://127.0.0.1:9000/hook', local, 'local')).toBe('http://127.0.0.1:9000/hook');
    expect(() => parseSubscriptionUrl('--url', 'http://127.0.0.1:9000/hook', stack, 'stack')).toThrow(/scheme "http" is not allowed/);
    expect(() => parseSubscriptionUrl('--url', 'https://[::ffff:10.0.0.1]/hook', stack, 'stack')).toThrow(/is not public/);
    expect(() => parseSubscriptionUrl('--url', 'https://user:pw@hooks.example.com/', stack, 'stack')).toThrow(/credentials in the URL/);
    expect(() => parseSubscriptionUrl('--url', 'not a url', local, 'local')).toThrow(UsageError);
  });
});

describe('--since / --until', () => {
  const at = Date.parse('2026-12-04T12:00:00.000Z');

  test.each([
    ['90m', at - 90 * 60_000],
    ['2h', at - 2 * 3600_000],
    ['3d', at - 3 * 86_400_000],
    ['2026-12-01', Date.parse('2026-12-01T00:00:00Z')],
    ['2024-02-29', Date.parse('2024-02-29T00:00:00Z')],
    ['2026-11-30T23:59:59Z', Date.parse('2026-11-30T23:59:59Z')],
    ['2026-12-01T10:00:00.123+02:00', Date.parse('2026-12-01T08:00:00.123Z')],
    ['2026-12-01T10:00:00+0200', Date.parse('2026-12-01T08:00:00Z')],
    ['2026-12-01T10:00', Date.parse('2026-12-01T10:00')],
    ['2026-12-01 10:00:00', Date.parse('2026-12-01T10:00:00')],
  ])('%s is accepted', (text, ms) => {
    expect(parseSince('--since', text, at)).toBe(ms);
  });

  test.each([
    ['2026-11-31T23:59:59Z', '--since: 2026-11-31 does not exist (November 2026 has 30 days), got "2026-11-31T23:59:59Z"'],
    ['2026-02-30', '--since: 2026-02-30 does not exist (February 2026 has 28 days), got "2026-02-30"'],
    ['2026-02-29', '--since: 2026-02-29 does not exist (February 2026 has 28 days), got "2026-02-29"'],
    ['2024-02-30', '--since: 2024-02-30 does not exist (February 2024 has 29 days), got "2024-02-30"'],
    ['2026-04-31T10:00:00Z', '--since: 2026-04-31 does not exist (April 2026 has 30 days), got "2026-04-31T10:00:00Z"'],
    ['2026-12-00', '--since: 2026-12-00 does not exist (December 2026 has 31 days), got "2026-12-00"'],
    ['2026-13-01', '--since: month 13 does not exist (01–12), got "2026-13-01"'],
    ['2026-12-01T24:00:00Z', '--since: hour 24 does not exist (00–23), got "2026-12-01T24:00:00Z"'],
    ['2026-12-01T23:60:00Z', '--since: minute 60 does not exist (00–59), got "2026-12-01T23:60:00Z"'],
    ['2026-12-01T23:59:60Z', '--since: second 60 does not exist (00–59), got "2026-12-01T23:59:60Z"'],
  ])('%s does not exist: a usage error', (text, message) => {
    expect(() => parseSince('--since', text, at)).toThrow(new UsageError(message));
  });

  test('malformed and future times are still refused', () => {
    expect(() => parseSince('--until', 'yesterday', at)).toThrow('--until: expected a duration such as 30m, 24h, 7d or an ISO time');
    expect(() => parseSince('--since', '2027-01-01', at)).toThrow('--since: 2027-01-01 is in the future');
  });
});

describe('--tenant, --description and the dev flags', () => {
  test('--tenant follows the rules events apply to tenantId: 256 characters at most, none webhooks cannot carry', () => {
    expect(parseTenant('--tenant', ' acme-shop ')).toBe('acme-shop');
    expect(parseTenant('--tenant', 'a'.repeat(256))).toHaveLength(256);
    expect(() => parseTenant('--tenant', 'a'.repeat(257))).toThrow(new UsageError('--tenant is 257 characters long; at most 256 are allowed (the longest tenantId an event can carry)'));
    expect(() => parseTenant('--tenant', 'a'.repeat(3000))).toThrow(UsageError);
    expect(() => parseTenant('--tenant', 'ac\u0001me')).toThrow(new UsageError('--tenant contains U+0001, a character webhooks cannot carry'));
    expect(() => parseTenant('--tenant', '  ')).toThrow(new UsageError('--tenant must not be empty'));
  });

  test('--description is one line: control characters (C0 with newline, tab and ESC; DEL; C1) are refused', () => {
    expect(parseOneLine('--description', ' ops team — Zürich ')).toBe('ops team — Zürich');
    expect(() => parseOneLine('--description', 'line1\nline2 \u001b[31mred\u001b[0m')).toThrow(
      new UsageError('--description contains the control character U+000A (a newline, tab, terminal escape code or the like); write it on one line without control characters'),
    );
    for (const bad of ['a\tb', 'a\u001b[31mb', 'a\rb', 'a\u007fb', 'a\u009bb', 'a\u0000b']) expect(() => parseOneLine('--description', bad)).toThrow(UsageError);
  });

  test('dev: an empty schedule or attempt count is refused, and attempt counts are digits only', () => {
    expect(() => devOptions({ retrySchedule: '', demo: true })).toThrow(new UsageError('--retry-schedule: retry schedule must be comma-separated whole seconds, e.g. "60,600,3600", got ""'));
    expect(() => devOptions({ retrySchedule: '1e1', demo: true })).toThrow(UsageError);
    expect(() => devOptions({ deliveryLog: '', demo: true })).toThrow(new UsageError('--delivery-log must not be empty'));
    for (const bad of ['', ' ', '1e1', '3.0', '0x10', '+3', '0']) {
      expect(() => devOptions({ maxAttempts: bad, demo: true })).toThrow(new UsageError(`--max-attempts: expected a whole number ≥ 1, got "${bad}"`));
    }
    expect(devOptions({ maxAttempts: ' 3 ', retrySchedule: ' 1, 2 ', demo: true })).toEqual({ maxAttempts: 3, retrySchedule: [1, 2], demo: true });
  });

  test('dev: a value out of the stack\'s range is reported under the flag that was given, not the CDK context key', () => {
    expect(() => devOptions({ maxAttempts: '200', demo: true })).toThrow(new UsageError('--max-attempts must be an integer from 1 to 100, got 200'));
    expect(() => devOptions({ deliveryLog: 'some', demo: true })).toThrow(new UsageError('--delivery-log must be all or failures, got "some"'));
    expect(() => devOptions({ retrySchedule: '40000', maxAttempts: '100', demo: true })).toThrow(
      /^--retry-schedule with --max-attempts 100 waits up to \d+ s between the first and the last attempt, more than the delivery queue keeps a job/,
    );
  });
});

describe('text output', () => {
  test('control characters in values are shown escaped, so table rows stay one line each and nothing reaches the terminal raw', () => {
    expect(printable('line1\nline2\t\r \u001b[31mred\u001b[0m \u007f\u009b')).toBe('line1\\nline2\\t\\r \\u001b[31mred\\u001b[0m \\u007f\\u009b');
    expect(printable('ops team — Zürich')).toBe('ops team — Zürich');
    expect(table(['ID', 'DESCRIPTION', 'X'], [['sub_1', 'a\nb', 'c'], ['sub_2', '\u001b[31m', 'd']])).toBe(
      ['ID     DESCRIPTION  X', 'sub_1  a\\nb         c', 'sub_2  \\u001b[31m   d'].join('\n'),
    );
    expect(fields([['description', 'a\nb'], ['bro\u001bken', 'x']])).toBe(['description   a\\nb', 'bro\\u001bken  x'].join('\n'));
  });
});

const job = {
  v: 1,
  deliveryId: 'msg_1',
  eventId: 'evt-1',
  event: 'payment_operation.status.changed',
  tenantId: 'acme-shop',
  subscriptionId: 'sub_1',
  body: '{"event":"payment_operation.status.changed"}',
  occurredAt: '2025-11-28T10:00:00.000Z',
};

describe('reading the delivery DLQ', () => {
  test('a job parked by the delivery function carries its reason, attempts and time', () => {
    const message: Message = {
      MessageId: 'm1',
      Body: JSON.stringify(job),
      Attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.parse('2025-11-28T11:59:00Z')) },
      MessageAttributes: {
        [PARKED_ATTRIBUTES.reason]: { DataType: 'String', StringValue: 'failed 5 attempts; last: HTTP 503' },
        [PARKED_ATTRIBUTES.attempts]: { DataType: 'Number', StringValue: '5' },
        [PARKED_ATTRIBUTES.parkedAt]: { DataType: 'String', StringValue: '2025-11-28T11:00:00.000Z' },
      },
    };
    expect(readParkedJob(message, now).view).toEqual({
      messageId: 'm1',
      deliveryId: 'msg_1',
      eventId: 'evt-1',
      tenantId: 'acme-shop',
      subscriptionId: 'sub_1',
      event: 'payment_operation.status.changed',
      attempts: 5,
      parkedBy: 'delivery',
      reason: 'failed 5 attempts; last: HTTP 503',
      parkedAt: '2025-11-28T11:00:00.000Z',
      ageSeconds: 3600,
    });
  });

  test('a job moved by SQS redrive has no reason; attempts come from the receive count', () => {
    const message: Message = { MessageId: 'm2', Body: JSON.stringify(job), Attributes: { ApproximateReceiveCount: '6', SentTimestamp: String(Date.parse('2025-11-28T11:58:00Z')) } };
    expect(readParkedJob(message, now).view).toMatchObject({ parkedBy: 'sqs-redrive', attempts: 6, ageSeconds: 120, reason: expect.stringMatching(/^unknown/) });
  });

  test('an unreadable body is described, not thrown', () => {
    const { view, job: parsed } = readParkedJob({ MessageId: 'm3', Body: '{"v":2}' }, now);
    expect(parsed).toBeNull();
    expect(view).toMatchObject({ deliveryId: null, reason: expect.stringMatching(/^unreadable job: invalid delivery job/) });
  });
});

describe('reading the fan-out DLQ', () => {
  const event = { id: 'evt-9', source: 'returns.cloud', 'detail-type': 'sales_order.status.changed', time: '2025-11-28T11:00:00Z', detail: { tenantId: 'globex' } };

  test('the three writers, and a message of none of them', () => {
    const rejected = readParkedEvent({ MessageId: 'a', Body: JSON.stringify({ kind: 'rejected-event', reason: 'bad', rejectedAt: '2025-11-28T11:30:00.000Z', event }) }, now);
    expect(rejected.view).toMatchObject({ kind: 'rejected-event', eventId: 'evt-9', tenantId: 'globex', detailType: 'sales_order.status.changed', reason: 'bad', ageSeconds: 1800 });
    expect(rejected.event).toMatchObject({ source: 'returns.cloud', detail: { tenantId: 'globex' } });

    const lambda = readParkedEvent(
      {
        MessageId: 'b',
        Body: JSON.stringify({
          version: '1.0',
          timestamp: '2025-11-28T11:59:00.000Z',
          requestContext: { condition: 'EventAgeExceeded', approximateInvokeCount: 2 },
          requestPayload: event,
          responsePayload: null,
        }),
      },
      now,
    );
    expect(lambda.view).toMatchObject({ kind: 'lambda-failure', reason: 'EventAgeExceeded', attempts: 2, ageSeconds: 60 });

    const rule = readParkedEvent(
      {
        MessageId: 'c',
        Body: JSON.stringify(event),
        Attributes: { SentTimestamp: String(Date.parse('2025-11-28T11:59:30Z')) },
        MessageAttributes: { ERROR_CODE: { DataType: 'String', StringValue: 'SDK_CLIENT_ERROR' }, RETRY_ATTEMPTS: { DataType: 'String', StringValue: '185' } },
      },
      now,
    );
    expect(rule.view).toMatchObject({ kind: 'rule-target-failure', reason: 'SDK_CLIENT_ERROR', attempts: 185, ageSeconds: 30 });

    const junk = readParkedEvent({ MessageId: 'd', Body: 'hello' }, now);
    expect(junk.view).toMatchObject({ kind: 'unknown', reason: 'unreadable message body (not JSON)', eventId: null });
    expect(junk.event).toBeNull();
  });

  test('a rejected record whose event was truncated has no event to resend', () => {
    const truncated = readParkedEvent({ MessageId: 'e', Body: JSON.stringify({ kind: 'rejected-event', reason: 'too big', rejectedAt: '2025-11-28T11:00:00Z', event: '{"id":"evt-…', eventTruncated: true }) }, now);
    expect(truncated.view.kind).toBe('rejected-event');
    expect(truncated.event).toBeNull();
  });
});

describe('error lines', () => {
  test('never "error: Error:", whatever the error class; a telling class name follows the message', () => {
    class ResourceNotFoundException extends Error {
      constructor(message: string) {
        super(message);
        this.name = 'ResourceNotFoundException';
      }
    }
    class Unnamed extends Error {}
    expect(errorLine(new Error('invalid subscription item: url: Required'))).toBe('error: invalid subscription item: url: Required');
    expect(errorLine(new Unnamed('boom'))).toBe('error: boom');
    expect(errorLine(new TypeError('x is not a function'))).toBe('error: x is not a function (TypeError)');
    expect(errorLine(new ResourceNotFoundException('Requested resource not found'))).toBe('error: Requested resource not found (ResourceNotFoundException)');
    expect(errorLine(new CliError('subscription sub_1 not found for tenant a'))).toBe('error: subscription sub_1 not found for tenant a');
    expect(errorLine(new UsageError('--grace: malformed duration "24"'))).toBe('error: --grace: malformed duration "24"');
    expect(errorLine('a string')).toBe('error: a string');
  });

  test('the local runtime\'s "another runtime is running" reads as the sentence it is, without its class name', () => {
    const busy = new LocalRuntimeBusyError({ pid: 4242, startedAt: '2026-12-04T21:00:00.000Z', token: 't' }, '/repo/.statushooks/dev.lock');
    expect(errorLine(busy)).toMatch(/^error: another local runtime is running in \/repo \(pid 4242, .*its state is in \/repo\/\.statushooks\/dev\.json\.$/);
  });

  test('webhook timestamps are whole unix seconds', () => {
    expect(parseUnixSeconds('--timestamp', ' 1732812345 ')).toBe('1732812345');
    for (const bad of ['abc', '', '1732812345.5', '-1', '2025-11-28T12:00:00Z', '1e9']) expect(() => parseUnixSeconds('--timestamp', bad)).toThrow(UsageError);
  });
});

/** Command lines that must be refused as usage errors (exit 2) before any target is looked for. */
describe('usage errors on the command line', () => {
  const url = ['--url', 'https://hooks.example.com/in'];

  test('an option and its negation contradict each other, in either order', async () => {
    const results = await Promise.all([
      cli(['subscriptions', 'update', 'sub_1', '--tenant', 'acme', '--status-filter', 'a', '--no-status-filter']),
      cli(['subscriptions', 'update', 'sub_1', '--tenant', 'acme', '--no-status-filter', '--status-filter', 'a']),
      cli(['subscriptions', 'update', 'sub_1', '--tenant', 'acme', '--description', 'ops', '--no-description']),
    ]);
    expect(results.map((r) => [r.code, r.stdout, r.stderr.split('\n')[0]])).toEqual([
      [2, '', 'error: --status-filter and --no-status-filter contradict each other; give one of them'],
      [2, '', 'error: --no-status-filter and --status-filter contradict each other; give one of them'],
      [2, '', 'error: --description and --no-description contradict each other; give one of them'],
    ]);
  });

  test('an option without its value, or given twice with different values, is named', async () => {
    const [eventsLast, eventsThenOption, tenantThenOption, twice] = await Promise.all([
      cli(['subscriptions', 'update', 'sub_1', '--tenant', 'acme', '--events']),
      cli(['subscriptions', 'update', 'sub_1', '--tenant', 'acme', '--events', '--json']),
      cli(['subscriptions', 'create', '--tenant', ...url, '--events', '*']),
      cli(['subscriptions', 'pause', 'sub_1', '--tenant', 'acme', '--tenant', 'globex']),
    ]);
    for (const r of [eventsLast, eventsThenOption, tenantThenOption, twice]) expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(eventsLast.stderr).toContain("error: option '--events <names>' argument missing");
    expect(eventsThenOption.stderr).toContain("error: option '--events <names>' needs a value, but got the option --json");
    expect(tenantThenOption.stderr).toContain("error: option '--tenant <id>' needs a value, but got the option --url");
    expect(twice.stderr).toContain('error: --tenant given twice ("acme" and "globex"); give it once');
  });

  test('words a command does not take are refused by name; file names after --events say that the shell expanded an unquoted *', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'statushooks-glob-'));
    for (const name of ['README.md', 'package.json', 'src']) fs.writeFileSync(path.join(folder, name), '');
    try {
      // What `--events *` becomes in a folder holding those three names.
      const [globbed, stray, extraId] = await Promise.all([
        cli(['subscriptions', 'create', '--tenant', 'acme', ...url, '--events', 'README.md', 'package.json', 'src'], { cwd: folder }),
        cli(['subscriptions', 'list', '--tenant', 'acme', 'everything'], { cwd: folder }),
        cli(['subscriptions', 'get', 'sub_1', 'sub_2', '--tenant', 'acme'], { cwd: folder }),
      ]);
      for (const r of [globbed, stray, extraId]) expect(r).toMatchObject({ code: 2, stdout: '' });
      expect(globbed.stderr.split('\n')[0]).toBe(
        `error: too many arguments: 'create' takes no arguments, got "package.json" "src". These are names of files or folders here: an unquoted * was probably expanded by the shell; quote it, e.g. --events '*'`,
      );
      expect(stray.stderr.split('\n')[0]).toBe(`error: too many arguments: 'list' takes no arguments, got "everything"`);
      expect(extraId.stderr.split('\n')[0]).toBe(`error: too many arguments: 'get' takes 1 argument, got "sub_2"`);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  test('a mistyped option is reported, with a suggestion, before the required option it misspells', async () => {
    const [create, verify] = await Promise.all([
      cli(['subscriptions', 'create', '--tenat', 'acme', ...url, '--events', '*']),
      cli(['verify', '--secrt', 'whsec_x', '--id', 'msg_1', '--timestamp', '1', '--signature', 'v1,x', '--body', '-']),
    ]);
    expect(create).toMatchObject({ code: 2, stdout: '' });
    expect(create.stderr).toContain("error: unknown option '--tenat'\n(Did you mean --tenant?)");
    expect(create.stderr).not.toContain('required option');
    expect(verify).toMatchObject({ code: 2 });
    expect(verify.stderr).toContain("error: unknown option '--secrt'\n(Did you mean --secret?)");
    // Without a typo, a missing required option is still reported as before.
    const missing = await cli(['subscriptions', 'create', ...url, '--events', '*']);
    expect(missing).toMatchObject({ code: 2, stderr: "error: required option '--tenant <id>' not specified\n(add --help for usage)\n" });
  });

  test('bad values of numeric and date options are usage errors (exit 2), naming the option', async () => {
    const [timestamp, limit, max, grace] = await Promise.all([
      cli(['verify', '--secret', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', '--id', 'msg_1', '--timestamp', 'abc', '--signature', 'v1,x', '--body', '-']),
      cli(['dlq', 'list', '--limit', 'abc']),
      cli(['dlq', 'redrive', '--max', '-3']),
      cli(['subscriptions', 'rotate-secret', 'sub_1', '--tenant', 'acme', '--grace', 'soon']),
    ]);
    expect(timestamp).toMatchObject({ code: 2, stdout: '', stderr: 'error: --timestamp: expected unix seconds (a whole number such as 1732812345), got "abc"\n' });
    expect(limit).toMatchObject({ code: 2 });
    expect(limit.stderr).toContain("option '--limit <n>' argument 'abc' is invalid");
    expect(max).toMatchObject({ code: 2 });
    expect(max.stderr).toContain("'--max <n>'");
    expect(grace).toMatchObject({ code: 2, stderr: expect.stringContaining('--grace: malformed duration "soon"') });
  });

  test('dates that do not exist, a --tenant no event can carry and a description with control characters are usage errors (exit 2)', async () => {
    // A missing state file: without these checks the commands would fail later, exit 1, on the target.
    const nowhere = ['--local', '/nonexistent/statushooks/dev.json'];
    const [since, tooLong, getTooLong, description] = await Promise.all([
      cli(['events', 'operational', '--since', '2026-11-31T23:59:59Z', ...nowhere]),
      cli(['subscriptions', 'create', '--tenant', 'a'.repeat(300), ...url, '--events', '*', ...nowhere]),
      cli(['deliveries', 'get', 'msg_1', '--tenant', 'a'.repeat(3000), ...nowhere]),
      cli(['subscriptions', 'create', '--tenant', 'acme', ...url, '--events', '*', '--description', 'line1\nline2 \u001b[31mred\u001b[0m', ...nowhere]),
    ]);
    expect(since).toMatchObject({ code: 2, stdout: '', stderr: 'error: --since: 2026-11-31 does not exist (November 2026 has 30 days), got "2026-11-31T23:59:59Z"\n' });
    expect(tooLong).toMatchObject({ code: 2, stdout: '', stderr: 'error: --tenant is 300 characters long; at most 256 are allowed (the longest tenantId an event can carry)\n' });
    expect(getTooLong).toMatchObject({ code: 2, stdout: '', stderr: 'error: --tenant is 3000 characters long; at most 256 are allowed (the longest tenantId an event can carry)\n' });
    expect(description).toMatchObject({ code: 2, stdout: '' });
    expect(description.stderr).toContain('error: --description contains the control character U+000A');
  });
});

describe('help', () => {
  /** Every command, with the help text commander prints for it. */
  function helpOfEveryCommand(): [string, string][] {
    const walk = (c: Command, prefix: string): [string, string][] => {
      const name = `${prefix} ${c.name()}`.trim();
      let text = '';
      c.configureOutput({ writeOut: (t) => (text += t), writeErr: (t) => (text += t) });
      c.outputHelp();
      return [[name, text], ...c.commands.flatMap((sub) => walk(sub, name))];
    };
    return walk(buildProgram(), '');
  }

  test('the top-level help documents the exit codes', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Exit codes:\n {2}0 {2}ok\n {2}1 {2}failed: .*\n.*\n {2}2 {2}usage error: /);
  });

  test('every command reads well: no file references, no "[options]" noise, prose within 80 columns', () => {
    const helps = helpOfEveryCommand();
    expect(helps.map(([name]) => name)).toEqual(expect.arrayContaining(['statushooks subscriptions rotate-secret', 'statushooks dlq redrive', 'statushooks verify', 'statushooks events send']));
    for (const [name, text] of helps) {
      // Paths to documents (docs/…, *.md) mean nothing to someone with only the CLI installed.
      expect({ name, refs: text.match(/\S+\.md\b|docs\/|\/work\/|~\//g) ?? [] }).toEqual({ name, refs: [] });
      expect({ name, noise: text.match(/^ {2}\S+ \[options\]/m) }).toEqual({ name, noise: null });
      // Example command lines may be long (they are meant to be copied); prose is wrapped.
      const long = text.split('\n').filter((l) => l.length > 80 && !/^ {2}(statushooks|read|npm) /.test(l));
      expect({ name, long }).toEqual({ name, long: [] });
    }
  });

  test('required options say so in the help', async () => {
    const r = await cli(['subscriptions', 'create', '--help']);
    expect(r.stdout).toMatch(/--tenant <id>\s+the tenant that owns the subscription \(required\)/);
  });
});
