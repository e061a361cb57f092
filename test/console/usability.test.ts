/**
 * The console as a support engineer uses it, beyond the happy path of console.test.ts: a slow
 * target (a double click), the target going away under a live list, values another tool wrote,
 * a phone-sized window, a browser in another time zone. The real CLI serves the console against
 * the real local runtime; Debian's chromium (playwright-core) is the operator. The console reaches
 * DynamoDB through a small proxy here, which can hold every answer back (a slow connection).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import { cli, stopLocalRuntime } from '../cli/helpers';
import { CHROMIUM, CHROMIUM_ARGS, OUTCOME_MS, pollUntil, startConsoleProcess, type ConsoleProcess } from './console-process';

jest.setTimeout(120_000);


let runtime: LocalRuntime;
let dir: string;
let stateFile: string;
let db: DynamoDBDocumentClient;
let consoleHandle: ConsoleProcess | undefined;
let consoleUrl: string;
let origin: string;
let browser: Browser;
const servers: http.Server[] = [];
/** How long the proxy holds back each DynamoDB answer to the console (ms). */
let dynamoDelayMs = 0;

/** A receiver on 127.0.0.1 that answers 204. */
async function receiver(): Promise<string> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}

/** Forwards every request to `upstream`, holding the answer back `dynamoDelayMs`. */
async function slowProxy(upstream: string): Promise<string> {
  const target = new URL(upstream);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const forward = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        const body: Buffer[] = [];
        answer.on('data', (c: Buffer) => body.push(c));
        answer.on('end', () =>
          setTimeout(() => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(Buffer.concat(body));
          }, dynamoDelayMs),
        );
      });
      forward.on('error', () => res.destroy());
      forward.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'statushooks-console-use-'));
  stateFile = path.join(dir, 'dev.json');
  runtime = await startLocalRuntime({ retrySchedule: [1, 1], maxAttempts: 2, httpTimeoutMs: 2_000, stateFile, log: () => undefined });
  db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: runtime.region, endpoint: runtime.endpoints.dynamodb, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }));

  // The console's own state file: the same runtime, DynamoDB behind the proxy.
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { endpoints: Record<string, string> };
  state.endpoints.dynamodb = await slowProxy(state.endpoints.dynamodb!);
  writeFileSync(path.join(dir, 'console.json'), JSON.stringify(state, null, 2));

  consoleHandle = await startConsoleProcess(dir, 'console.json');
  consoleUrl = consoleHandle.url;
  origin = new URL(consoleUrl).origin;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  db?.destroy();
  await consoleHandle?.stop();
  await stopLocalRuntime(runtime, servers, dir);
});

/** A browser window with an open session (the printed URL opened once). */
async function operator(options: { width?: number; timezoneId?: string } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: 860 }, timezoneId: options.timezoneId ?? 'UTC', locale: 'en-US' });
  const page = await context.newPage();
  page.setDefaultTimeout(OUTCOME_MS);
  await page.goto(consoleUrl);
  return { context, page };
}

async function subscriptionsOf(tenant: string): Promise<{ subscriptionId: string; description?: string; events: string[]; maxRequestsPerSecond?: number }[]> {
  const listed = await cli(['subscriptions', 'list', '--tenant', tenant, '--json', '--local', stateFile]);
  expect(listed.code).toBe(0);
  return JSON.parse(listed.stdout).subscriptions;
}

async function createByCli(tenant: string, url: string, ...more: string[]): Promise<string> {
  const created = await cli(['subscriptions', 'create', '--tenant', tenant, '--url', url, '--events', '*', '--json', ...more, '--local', stateFile]);
  expect(created.code).toBe(0);
  return JSON.parse(created.stdout).subscriptionId;
}

const waitUntil = <T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs?: number): Promise<T> =>
  pollUntil(what, probe, () => consoleHandle?.output() ?? '', timeoutMs);

test('a form is sent once: a second click on "Create subscription" while the target is slow creates no second subscription, and the secret shown is the one created', async () => {
  const { context, page } = await operator();
  const url = await receiver();
  await page.goto(`${origin}/tenants/twice-shop`);
  await page.getByLabel('URL', { exact: true }).fill(url);
  const button = await page.getByRole('button', { name: 'Create subscription' }).boundingBox();
  dynamoDelayMs = 700;
  try {
    // The operator sees nothing happen and clicks again, before the answer came.
    await page.mouse.click(button!.x + 10, button!.y + 10);
    await page.waitForTimeout(300);
    await page.mouse.click(button!.x + 10, button!.y + 10);
    await page.getByRole('heading', { name: 'Subscription created' }).waitFor();
  } finally {
    dynamoDelayMs = 0;
  }
  const shown = (await page.getByRole('link', { name: /^sub_/ }).first().textContent())!;
  const subscriptions = await subscriptionsOf('twice-shop');
  expect(subscriptions.map((s) => s.subscriptionId)).toEqual([shown]);
  await context.close();
});

test('the update form writes only the fields the operator changed: a description another tool wrote with control characters neither blocks a new rate limit nor is altered, and is shown escaped', async () => {
  const { context, page } = await operator();
  const subscriptionId = await createByCli('notes-shop', await receiver());
  // Another tool wrote a description the CLI would refuse (a newline, a tab, a terminal escape).
  const description = 'first line\nsecond\tline \u001b[31mred\u001b[0m';
  const key = { tenantId: 'notes-shop', subscriptionId };
  const { Item } = await db.send(new GetCommand({ TableName: runtime.outputs.SubscriptionsTableName!, Key: key }));
  await db.send(new PutCommand({ TableName: runtime.outputs.SubscriptionsTableName!, Item: { ...Item, description } }));

  const subPage = `${origin}/tenants/notes-shop/subscriptions/${subscriptionId}`;
  await page.goto(subPage);
  // Seen as the CLI shows it, not as a space and invisible characters.
  await page.locator('dl.facts dd', { hasText: 'first line\\nsecond\\tline \\u001b[31mred\\u001b[0m' }).waitFor();

  // Meanwhile a colleague narrows the events with the CLI; this page still shows "*".
  expect((await cli(['subscriptions', 'update', subscriptionId, '--tenant', 'notes-shop', '--events', 'sales_order.status.changed', '--local', stateFile])).code).toBe(0);

  await page.getByLabel('Max requests per second').fill('25');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByRole('status').getByText('saved').waitFor();
  expect(await page.getByRole('alert').count()).toBe(0);
  const [after] = await subscriptionsOf('notes-shop');
  expect(after).toMatchObject({ maxRequestsPerSecond: 25, description, events: ['sales_order.status.changed'] });

  // Nothing changed at all: said so, nothing written.
  await page.goto(subPage);
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByRole('alert').getByText('nothing to save').waitFor();
  await context.close();
});

test('a live delivery list says when it stops updating (the target went away) and recovers by itself', async () => {
  const { context, page } = await operator();
  await createByCli('live-shop', await receiver());
  await page.goto(`${origin}/tenants/live-shop`);
  const section = page.locator('section', { has: page.getByRole('heading', { name: /Recent deliveries/ }) });
  await section.getByText('no deliveries yet').waitFor();
  await runtime.faults.dynamodb.down();
  try {
    await section.getByRole('status').getByText(/^Not updating: error: cannot reach local runtime/).waitFor();
    await section.getByText('not updating', { exact: true }).waitFor();
  } finally {
    await runtime.faults.dynamodb.up();
  }
  await section.getByText('live', { exact: true }).waitFor();
  await waitUntil('the note gone', async () => ((await section.getByRole('status').filter({ hasText: 'Not updating' }).count()) === 0 ? true : undefined));
  await context.close();
});

test('on a 390 px wide screen no page is wider than the screen and every value is in view; at 1280 px a long description does not push the table off the page', async () => {
  const url = await receiver();
  const subscriptionId = await createByCli('narrow-shop', url, '--description', `Ticket ${'x'.repeat(300)}`);
  const { context, page } = await operator({ width: 390 });
  const pages = ['/', '/tenants/narrow-shop', `/tenants/narrow-shop/subscriptions/${subscriptionId}`, '/dlq', '/send', `/tenants/${'t'.repeat(256)}`];
  for (const where of pages) {
    await page.goto(`${origin}${where}`);
    const width = await page.evaluate<number>('document.documentElement.scrollWidth');
    expect({ where: where.slice(0, 40), width }).toEqual({ where: where.slice(0, 40), width: 390 });
  }
  // The endpoint health of a subscription is readable, not cut off by its neighbour panel.
  await page.goto(`${origin}/tenants/narrow-shop/subscriptions/${subscriptionId}`);
  for (const value of [page.locator('dl.facts dd', { hasText: 'closed' }), page.getByRole('button', { name: 'Rotate secret' }), page.getByRole('button', { name: 'Save changes' })]) {
    const box = (await value.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(390);
  }
  await page.goto(`${origin}/`);
  const open = (await page.getByRole('button', { name: 'Open tenant' }).boundingBox())!;
  expect(open.x + open.width).toBeLessThanOrEqual(390);
  await context.close();

  const wide = await operator({ width: 1280 });
  await wide.page.goto(`${origin}/tenants/narrow-shop`);
  const row = wide.page.getByRole('table', { name: 'Subscriptions' }).getByRole('row', { name: new RegExp(subscriptionId) });
  for (const cell of [row.getByText('active', { exact: true }), row.getByRole('button', { name: 'Pause' })]) {
    const box = (await cell.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(1280);
  }
  await wide.context.close();
});

test("the chart's time axis is in UTC, like every other time on the page, whatever the browser's time zone", async () => {
  const subscriptionId = await createByCli('chart-shop', await receiver());
  const { context, page } = await operator({ timezoneId: 'America/New_York' });
  await page.goto(`${origin}/tenants/chart-shop/subscriptions/${subscriptionId}?range=24h`);
  await page.locator('canvas[data-drawn="true"]').waitFor();
  // What the chart draws under its bars: the labels and the axis title.
  const axis = await page.evaluate<{ labels: string[]; title?: string }>(
    "(() => { const chart = Chart.getChart(document.querySelector('canvas')); return { labels: chart.data.labels, title: chart.options.scales.x.title?.text }; })()",
  );
  const data = (await page.evaluate(async (src) => (await fetch(src)).json(), (await page.locator('canvas').getAttribute('data-chart-src'))!)) as { buckets: string[] };
  expect(axis.title).toBe('UTC');
  expect(axis.labels).toEqual(data.buckets.map((b) => b.slice(11, 16)));
  await context.close();
});

test('Pause and Resume on the tenant page answer on the tenant page', async () => {
  const subscriptionId = await createByCli('row-shop', await receiver());
  const { context, page } = await operator();
  await page.goto(`${origin}/tenants/row-shop`);
  const row = page.getByRole('table', { name: 'Subscriptions' }).getByRole('row', { name: new RegExp(subscriptionId) });
  await row.getByRole('button', { name: 'Pause' }).click();
  await page.getByRole('status').getByText(`${subscriptionId} (tenant row-shop) is now paused`).waitFor();
  await page.getByRole('heading', { name: 'Tenant row-shop' }).waitFor();
  await row.getByText('paused', { exact: true }).waitFor();
  await row.getByRole('button', { name: 'Resume' }).click();
  await page.getByRole('status').getByText(`${subscriptionId} (tenant row-shop) is now active`).waitFor();
  await page.getByRole('heading', { name: 'Tenant row-shop' }).waitFor();
  await context.close();
});

test('a redrive that leaves a job parked (its subscription is paused) says so once, not twice', async () => {
  const failing = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(500).end('down'));
  });
  await new Promise<void>((r) => failing.listen(0, '127.0.0.1', r));
  servers.push(failing);
  const subscriptionId = await createByCli('halt-shop', `http://127.0.0.1:${(failing.address() as AddressInfo).port}/hook`);
  const sent = await cli(['events', 'send', '--type', 'return_order.status.changed', '--tenant', 'halt-shop', '--old', 'approved', '--new', 'received', '--uuid', '7b0c8a52-5a51-4c6f-9d43-0b7d2f4e9a11', '--local', stateFile]);
  expect(sent.code).toBe(0);
  const { context, page } = await operator();
  await page.goto(`${origin}/dlq`);
  const row = page.getByRole('table', { name: 'Delivery DLQ' }).getByRole('row', { name: new RegExp(subscriptionId) });
  await waitUntil('the job parked', async () => {
    if ((await row.count()) > 0) return true;
    await page.reload();
    return undefined;
  });
  expect((await cli(['subscriptions', 'pause', subscriptionId, '--tenant', 'halt-shop', '--local', stateFile])).code).toBe(0);
  await row.getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Redrive selected' }).click();
  await page.getByRole('button', { name: 'Yes, redrive 1 message' }).click();
  const skipped = page.getByText(new RegExp(`skipped \\S+: subscription ${subscriptionId} of tenant halt-shop is paused`));
  await skipped.first().waitFor();
  expect(await skipped.count()).toBe(1);
  await context.close();
});
