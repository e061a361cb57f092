/**
 * `statushooks console` end to end: the real CLI serves the console against the real local
 * runtime, real receivers on 127.0.0.1 answer the webhooks, and Debian's chromium (driven by
 * playwright-core) is the operator. Every page is photographed on the way (docs/console when
 * CONSOLE_SCREENSHOTS names that folder: `npm run console:screenshots`).
 */
import { mkdirSync, mkdtempSync, statSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import { ROOT, cli, stopLocalRuntime } from '../cli/helpers';
import { CHROMIUM, CHROMIUM_ARGS, OUTCOME_MS, pollUntil, startConsoleProcess, type ConsoleProcess } from './console-process';

jest.setTimeout(120_000);


interface Received {
  readonly webhookId: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly status: number;
}

/** A receiver on 127.0.0.1 that answers `status()` and records every request. */
async function receiver(status: () => number, answer = 'thanks') {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s = status();
      received.push({ webhookId: String(req.headers['webhook-id']), headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status: s });
      res.writeHead(s, { 'content-type': 'text/plain' }).end(s >= 300 ? `down for maintenance (${s})` : answer);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

let runtime: LocalRuntime;
let dir: string;
let stateFile: string;
let consoleHandle: ConsoleProcess | undefined;
let consoleUrl: string;
let origin: string;
let context: BrowserContext;
let page: Page;
let shots: string;
const servers: http.Server[] = [];
/** The subscription whose endpoint failed and was fixed (the Dead letters test), for the tenant page's test. */
let recovered: { subscriptionId: string; url: string } | undefined;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'statushooks-console-'));
  stateFile = path.join(dir, 'dev.json');
  shots = process.env.CONSOLE_SCREENSHOTS ? path.resolve(ROOT, process.env.CONSOLE_SCREENSHOTS) : path.join(dir, 'screenshots');
  mkdirSync(shots, { recursive: true });
  // Retries after 1 s, two attempts, and a breaker that opens after two failures and probes every
  // second: a failing endpoint is parked within seconds and reported as failing.
  runtime = await startLocalRuntime({
    retrySchedule: [1, 1, 1, 1],
    maxAttempts: 2,
    httpTimeoutMs: 2_000,
    stateFile,
    log: () => undefined,
    context: { breakerThreshold: '2', breakerProbeIntervalSeconds: '1' },
  });

  // Started where its state file is, as an operator would: the page names the target `local runtime (dev.json)`.
  consoleHandle = await startConsoleProcess(dir, 'dev.json');
  consoleUrl = consoleHandle.url;
  origin = new URL(consoleUrl).origin;

  context = await chromium.launchPersistentContext(path.join(dir, 'chromium'), {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 860 },
    timezoneId: 'UTC',
    locale: 'en-GB',
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(OUTCOME_MS);
  // The operator opens the printed URL once: from then on the session cookie carries the token.
  await page.goto(consoleUrl);
}, 180_000);

afterAll(async () => {
  await context?.close();
  await consoleHandle?.stop();
  await stopLocalRuntime(runtime, servers, dir);
});

async function shoot(p: Page, name: string): Promise<void> {
  const file = path.join(shots, `${name}.png`);
  await p.screenshot({ path: file, fullPage: true });
  expect(statSync(file).size).toBeGreaterThan(10_000);
}

/** The console's own answer to a request made outside the browser (no cookie unless given). */
function raw(pathAndQuery: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const url = new URL(pathAndQuery, origin);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

async function sessionCookie(): Promise<string> {
  const cookies = await context.cookies(origin);
  const cookie = cookies.find((c) => c.name.startsWith('statushooks_console_'));
  if (!cookie) throw new Error('no session cookie');
  return `${cookie.name}=${cookie.value}`;
}

const waitUntil = <T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs?: number): Promise<T> =>
  pollUntil(what, probe, () => consoleHandle?.output() ?? '', timeoutMs);

/** Reloads `p` until `locator` shows up (for pages that are not live, e.g. Dead letters). */
async function reloadUntil(p: Page, locator: Locator, what: string): Promise<void> {
  await waitUntil(what, async () => {
    if ((await locator.count()) > 0) return true;
    await p.reload();
    return undefined;
  });
}

/** Creates a subscription through the tenant page's form; returns its id and the secret shown once. */
async function createInForm(tenant: string, url: string, events = '*'): Promise<{ subscriptionId: string; secret: string }> {
  await page.goto(`${origin}/tenants/${tenant}`);
  await page.getByLabel('URL', { exact: true }).fill(url);
  await page.getByLabel('Events', { exact: true }).fill(events);
  await page.getByRole('button', { name: 'Create subscription' }).click();
  await page.getByRole('heading', { name: 'Subscription created' }).waitFor();
  const secret = (await page.locator('#secret').textContent())!;
  const subscriptionId = (await page.getByRole('link', { name: /^sub_/ }).first().textContent())!;
  return { subscriptionId, secret };
}

/** Sends an event through the Send test event form. */
async function sendInForm(p: Page, tenant: string, uuid: string, type = 'return_order.status.changed'): Promise<void> {
  await p.goto(`${origin}/send`);
  await p.getByLabel('Event type').selectOption(type);
  await p.getByLabel('Tenant', { exact: true }).fill(tenant);
  await p.getByLabel('Entity uuid').fill(uuid);
  await p.getByLabel('Entity number').fill('100077');
  await p.getByRole('button', { name: 'Send event' }).click();
  await p.getByText(`sent ${type} for tenant ${tenant}: event`).waitFor();
}

test('the printed URL opens a session: the token moves into an HttpOnly SameSite=Strict cookie and out of the address bar; without it every request gets 401', async () => {
  expect(consoleUrl.startsWith('http://127.0.0.1:')).toBe(true);

  // Without the token: the page, the static files, the live list and any form post are refused.
  for (const target of ['/', '/static/console.js', '/dlq', '/live/deliveries?tenant=x']) expect((await raw(target)).status).toBe(401);
  expect((await raw('/tenants/x/subscriptions', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'url=http://x' })).status).toBe(401);
  const wrong = await raw(`/?token=${'A'.repeat(43)}`);
  expect(wrong.status).toBe(401);
  expect(wrong.headers['set-cookie']).toBeUndefined();
  // Another name for 127.0.0.1 (a DNS-rebinding page) is refused even with the token.
  expect((await raw(`/${new URL(consoleUrl).search}`, { headers: { host: `evil.example:${new URL(origin).port}` } })).status).toBe(403);

  await page.goto(consoleUrl);
  expect(page.url()).toBe(`${origin}/`);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  const [cookie] = (await context.cookies(origin)).filter((c) => c.name.startsWith('statushooks_console_'));
  expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });

  // Every answer carries the strict policy; the page itself has no inline script or style.
  const answer = await raw('/', { headers: { cookie: await sessionCookie() } });
  expect(answer.status).toBe(200);
  expect(answer.headers['content-security-policy']).toBe(
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  );
  expect(answer.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store' });
  expect(answer.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=/i);
});

test('a request that never reaches the app (a Host that is no host name, a broken header line) gets a 400 with the same security headers', async () => {
  const exchange = (request: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(new URL(origin).port), '127.0.0.1', () => socket.write(request));
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => (text += d));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
  for (const request of ['GET / HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n', 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nno colon here\r\n\r\n']) {
    const [head, body] = (await exchange(request)).split('\r\n\r\n');
    const lines = head!.split('\r\n');
    expect(lines[0]).toBe('HTTP/1.1 400 Bad Request');
    const headers = Object.fromEntries(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    expect(headers).toMatchObject({ 'content-security-policy': expect.stringContaining("default-src 'none'"), 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'cache-control': 'no-store' });
    expect(body).toBe('Bad Request\n');
  }
});

test('a subscription created in the form shows its secret once; the other pages never show it', async () => {
  const good = await receiver(() => 204);
  const { subscriptionId, secret } = await createInForm('form-shop', good.url);
  expect(secret).toMatch(/^whsec_/);
  expect(subscriptionId).toMatch(/^sub_/);
  await page.getByText('Store the secret now: it is not shown again').waitFor();
  await shoot(page, 'secret-once');

  await page.goto(`${origin}/tenants/form-shop`);
  const row = page.getByRole('row', { name: new RegExp(subscriptionId) });
  await row.getByText('active').waitFor();
  await row.getByText('healthy').waitFor();
  for (const where of ['/tenants/form-shop', `/tenants/form-shop/subscriptions/${subscriptionId}`, '/', '/dlq']) {
    const html = await raw(where, { headers: { cookie: await sessionCookie() } });
    expect(html.status).toBe(200);
    expect(html.body).not.toContain(secret);
    expect(html.body).not.toContain(secret.slice('whsec_'.length));
  }
});

test("a validation error is shown next to its field, in the CLI's words, and nothing is created", async () => {
  const good = await receiver(() => 204);
  await page.goto(`${origin}/tenants/typo-shop`);
  await page.getByLabel('URL', { exact: true }).fill(good.url);
  await page.getByLabel('Events', { exact: true }).fill('return_order.changed');
  await page.getByLabel('Max requests per second').fill('0');
  await page.getByRole('button', { name: 'Create subscription' }).click();

  const events = page.getByLabel('Events', { exact: true });
  await expect(events.getAttribute('aria-invalid')).resolves.toBe('true');
  const shown = (await page.locator('#f-events-error').textContent())!.trim();
  const bySameCli = await cli(['subscriptions', 'create', '--tenant', 'typo-shop', '--url', good.url, '--events', 'return_order.changed', '--local', stateFile]);
  expect(bySameCli.code).toBe(2);
  expect(shown).toBe(bySameCli.stderr.trim().replace(/^error: /, ''));
  expect(shown).toContain('did you mean "return_order.status.changed"?');
  // What the operator typed stays in the form.
  await expect(events.inputValue()).resolves.toBe('return_order.changed');
  await shoot(page, 'validation-error');

  // The events fixed, the rate limit is next: its own rule, its own field.
  await events.fill('*');
  await page.getByRole('button', { name: 'Create subscription' }).click();
  const rps = (await page.locator('#f-max-rps-error').textContent())!.trim();
  const cliRps = await cli(['subscriptions', 'create', '--tenant', 'typo-shop', '--url', good.url, '--events', '*', '--max-rps', '0', '--local', stateFile]);
  expect(rps).toBe(cliRps.stderr.trim().replace(/^error: /, ''));
  const listed = await cli(['subscriptions', 'list', '--tenant', 'typo-shop', '--json', '--local', stateFile]);
  expect(JSON.parse(listed.stdout).subscriptions).toEqual([]);

  // The test event form checks the event as fan-out will: a blank tenant is refused next to its field.
  await page.goto(`${origin}/send`);
  await page.getByLabel('Tenant', { exact: true }).fill('   ');
  await page.getByRole('button', { name: 'Send event' }).click();
  const tenantError = (await page.locator('#f-tenant-error').textContent())!.trim();
  const cliSend = await cli(['events', 'send', '--type', 'return_order.status.changed', '--tenant', '   ', '--old', 'approved', '--new', 'received', '--uuid', 'u-1', '--local', stateFile]);
  expect(cliSend.code).toBe(2);
  expect(tenantError).toBe('detail.tenantId: must not be only whitespace');
  expect(cliSend.stderr.trim()).toBe(`error: invalid return_order.status.changed event: ${tenantError}`);
  await page.getByRole('alert').getByText(cliSend.stderr.trim()).waitFor();
});

test('a test event sent in the form appears live in the delivery list with its attempt, and the delivery page shows body and answer', async () => {
  const good = await receiver(() => 200, 'thanks, got it');
  const { subscriptionId, secret } = await createInForm('live-shop', good.url, 'return_order.status.changed,sales_order.status.changed');

  // The operator watches the subscription while a colleague sends an event in another tab.
  await page.goto(`${origin}/tenants/live-shop/subscriptions/${subscriptionId}?range=1h`);
  await page.getByRole('cell', { name: 'no deliveries yet' }).waitFor();
  await page.evaluate(() => ((globalThis as unknown as { notReloaded: boolean }).notReloaded = true));
  const other = await context.newPage();
  await sendInForm(other, 'live-shop', '6f0d3c4e-8a51-4f3b-9d2e-1a2b3c4d5e6f');
  await shoot(other, 'send-event');
  await other.close();

  const row = page.locator('table[aria-label="Deliveries"] tbody tr').filter({ hasText: 'delivered' });
  await row.waitFor();
  await expect(row.locator('td').nth(4).textContent()).resolves.toBe('1');
  await expect(row.locator('td').nth(5).textContent()).resolves.toBe('200');
  // Live: the row came without a reload.
  await expect(page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).resolves.toBe(true);

  // What the receiver got is what the console shows, signed with the secret shown at creation.
  const got = await waitUntil('the webhook', () => good.received[0]);
  expect(() => new Webhook(secret).verify(got.body, got.headers as Record<string, string>)).not.toThrow();
  await page.reload();
  await page.locator('canvas[data-drawn="true"]').waitFor();

  await row.getByRole('link', { name: got.webhookId }).click();
  await page.getByRole('heading', { name: `Delivery ${got.webhookId}` }).waitFor();
  const attempts = page.getByRole('table', { name: 'Attempts' }).locator('tbody tr');
  await expect(attempts.count()).resolves.toBe(1);
  await attempts.first().getByText('HTTP 200').waitFor();
  await attempts.first().getByText('thanks, got it').waitFor();
  await expect(page.locator('pre.body').textContent()).resolves.toBe(JSON.stringify(JSON.parse(got.body), null, 2));
  await shoot(page, 'delivery');

  // Resend: the same body with the same webhook-id, a second attempt in the log.
  await page.getByRole('button', { name: 'Resend' }).click();
  await page.getByText(`queued delivery ${got.webhookId} again for subscription ${subscriptionId} (was delivered after 1 attempt); same body, same webhook-id`).waitFor();
  const again = await waitUntil('the resent webhook', () => good.received[1]);
  expect(again.webhookId).toBe(got.webhookId);
  expect(again.body).toBe(got.body);
  await reloadUntil(page, page.getByRole('table', { name: 'Attempts' }).locator('tbody tr').nth(2), 'the second attempt in the log');
  // The page says where the second send began: two attempts numbered 1, with the resend between them.
  const firstCells = await page.getByRole('table', { name: 'Attempts' }).locator('tbody tr td:first-child').allTextContents();
  expect(firstCells).toEqual(['1', expect.stringMatching(/^queued again here by a resend on \S+Z: same body, same webhook-id; attempts count from 1 again$/), '1']);
});

test('a failing endpoint: failed attempts, then the job in Dead letters; after fixing the URL it is redriven and delivered with the same webhook-id; another is discarded', async () => {
  const flaky = await receiver(() => 500);
  const fixed = await receiver(() => 204);
  const { subscriptionId, secret } = await createInForm('parked-shop', flaky.url);
  recovered = { subscriptionId, url: fixed.url };
  await sendInForm(page, 'parked-shop', '11111111-2222-4333-8444-555555555555');
  await sendInForm(page, 'parked-shop', '11111111-2222-4333-8444-666666666666', 'payment_operation.status.changed');

  // Both jobs fail twice and are parked: the live list says so.
  await page.goto(`${origin}/tenants/parked-shop/subscriptions/${subscriptionId}`);
  const parked = page.locator('table[aria-label="Deliveries"] tbody tr').filter({ hasText: 'parked' });
  await waitUntil('two parked deliveries', async () => ((await parked.count()) === 2 ? true : undefined));
  const first = flaky.received.find((r) => JSON.parse(r.body).event === 'return_order.status.changed')!;
  const second = flaky.received.find((r) => JSON.parse(r.body).event === 'payment_operation.status.changed')!;
  expect(flaky.received.filter((r) => r.webhookId === first.webhookId).map((r) => r.status)).toEqual([500, 500]);

  // The delivery page shows both failed attempts with what the endpoint answered.
  await page.goto(`${origin}/tenants/parked-shop/deliveries/${first.webhookId}`);
  const attempts = page.getByRole('table', { name: 'Attempts' }).locator('tbody tr');
  await expect(attempts.count()).resolves.toBe(2);
  for (const i of [0, 1]) {
    await attempts.nth(i).getByText('HTTP 500').waitFor();
    await attempts.nth(i).getByText('down for maintenance (500)').waitFor();
  }

  // Dead letters lists them with the reason.
  await page.goto(`${origin}/dlq`);
  const dlq = page.getByRole('table', { name: 'Delivery DLQ' });
  await reloadUntil(page, dlq.getByRole('row', { name: new RegExp(second.webhookId) }), 'both jobs in the delivery DLQ');
  await dlq.getByRole('row', { name: new RegExp(first.webhookId) }).getByText('failed 2 attempts; last: HTTP 500').waitFor();

  // The endpoint is failing, and the overview says so.
  await page.goto(`${origin}/`);
  await page.getByRole('table', { name: 'Operational events' }).getByText('endpoint.failing').waitFor();
  await page.getByRole('link', { name: /parked in the delivery DLQ/ }).getByText('2').waitFor();
  await shoot(page, 'overview');

  // The customer moved their receiver: the URL is fixed on the subscription page.
  await page.goto(`${origin}/tenants/parked-shop/subscriptions/${subscriptionId}`);
  await page.getByLabel('New URL').fill(fixed.url);
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText('endpoint health reset (new URL)').waitFor();

  // Redrive the first job (confirmed), discard the second (confirmed).
  await page.goto(`${origin}/dlq`);
  await shoot(page, 'dead-letters');
  await page.getByLabel(`Select ${first.webhookId}`).check();
  await page.getByRole('button', { name: 'Redrive selected' }).click();
  await page.getByRole('heading', { name: 'Redrive 1 message from the delivery DLQ?' }).waitFor();
  await page.getByRole('button', { name: 'Yes, redrive 1 message' }).click();
  await page.getByText('moved 1 job from the delivery DLQ to the delivery queue').waitFor();

  const redelivered = await waitUntil('the redriven delivery', () => fixed.received[0]);
  expect(redelivered.webhookId).toBe(first.webhookId);
  expect(redelivered.body).toBe(first.body);
  expect(() => new Webhook(secret).verify(redelivered.body, redelivered.headers as Record<string, string>)).not.toThrow();

  await page.getByLabel(`Select ${second.webhookId}`).check();
  await page.getByRole('button', { name: 'Discard selected' }).click();
  await page.getByRole('heading', { name: 'Discard 1 message from the delivery DLQ for good?' }).waitFor();
  await page.getByRole('button', { name: 'Yes, discard 1 message' }).click();
  await page.getByText('discarded 1 message from the delivery DLQ').waitFor();
  await page.getByText('the delivery DLQ is empty').waitFor();

  // The delivery log tells the story: two failures, then the redriven attempt; the other discarded.
  await page.goto(`${origin}/tenants/parked-shop/deliveries/${first.webhookId}`);
  await reloadUntil(page, page.locator('.facts .badge', { hasText: 'delivered' }), 'the record delivered');
  const statuses = await page.getByRole('table', { name: 'Attempts' }).locator('tbody tr td:nth-child(4)').allTextContents();
  expect(statuses).toEqual(['HTTP 500', 'HTTP 500', 'HTTP 204']);
  await page.goto(`${origin}/tenants/parked-shop/deliveries/${second.webhookId}`);
  await page.locator('.facts .badge', { hasText: 'discarded' }).waitFor();

  // The subscription's chart: two deliveries, four failed attempts, one success.
  await page.goto(`${origin}/tenants/parked-shop/subscriptions/${subscriptionId}?range=1h`);
  await page.locator('canvas[data-drawn="true"]').waitFor();
  await page.getByRole('table', { name: 'Deliveries' }).getByText('discarded').waitFor();
  await shoot(page, 'subscription');
});

test('pause, resume, rotate secret (a new secret shown once) and delete (after confirming) from the subscription page', async () => {
  const good = await receiver(() => 204);
  const { subscriptionId, secret } = await createInForm('admin-shop', good.url);
  const subPage = `${origin}/tenants/admin-shop/subscriptions/${subscriptionId}`;
  await page.goto(subPage);
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.getByText(`${subscriptionId} (tenant admin-shop) is now paused`).waitFor();
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.getByText(`${subscriptionId} (tenant admin-shop) is now active`).waitFor();

  await page.getByLabel('Grace period of the old secret').fill('1h');
  await page.getByRole('button', { name: 'Rotate secret' }).click();
  await page.getByRole('heading', { name: 'Secret rotated' }).waitFor();
  const rotated = (await page.locator('#secret').textContent())!;
  expect(rotated).toMatch(/^whsec_/);
  expect(rotated).not.toBe(secret);
  await page.getByText('The previous secret still signs until').waitFor();

  // A second rotation within the grace period is refused in the CLI's words, next to nothing: on the page.
  await page.goto(subPage);
  await page.getByRole('button', { name: 'Rotate secret' }).click();
  await page.getByRole('alert').getByText('is still in the grace period of its last rotation').waitFor();
  const html = await raw(subPage.slice(origin.length), { headers: { cookie: await sessionCookie() } });
  expect(html.body).not.toContain(rotated);

  await page.goto(subPage);
  await page.getByRole('button', { name: 'Delete subscription' }).click();
  await page.getByRole('heading', { name: `Delete subscription ${subscriptionId}?` }).waitFor();
  expect((await cli(['subscriptions', 'get', subscriptionId, '--tenant', 'admin-shop', '--local', stateFile])).code).toBe(0);
  await page.getByRole('button', { name: 'Yes, delete it' }).click();
  await page.getByText(`deleted ${subscriptionId} (tenant admin-shop)`).waitFor();
  await page.getByText('No subscriptions for tenant admin-shop.').waitFor();
  expect((await cli(['subscriptions', 'get', subscriptionId, '--tenant', 'admin-shop', '--local', stateFile])).code).toBe(1);
});

test('a post from another origin, or without the CSRF token, changes nothing', async () => {
  const good = await receiver(() => 204);
  const { subscriptionId } = await createInForm('csrf-shop', good.url);
  const cookie = await sessionCookie();
  const subPage = `/tenants/csrf-shop/subscriptions/${subscriptionId}`;
  const form = (await raw(subPage, { headers: { cookie } })).body;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(form)![1]!;
  const post = (headers: Record<string, string>, body: string) =>
    raw(`${subPage}/pause`, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });

  expect((await post({ origin: 'http://evil.example' }, `_csrf=${csrf}`)).status).toBe(403);
  expect((await post({ 'sec-fetch-site': 'cross-site' }, `_csrf=${csrf}`)).status).toBe(403);
  expect((await post({ origin: 'null' }, `_csrf=${csrf}`)).status).toBe(403);
  expect((await post({ origin: 'null', 'sec-fetch-site': 'same-site' }, `_csrf=${csrf}`)).status).toBe(403);
  expect((await post({ origin }, '_csrf=forged')).status).toBe(403);
  expect((await post({ origin }, '')).status).toBe(403);
  const state = await cli(['subscriptions', 'get', subscriptionId, '--tenant', 'csrf-shop', '--json', '--local', stateFile]);
  expect(JSON.parse(state.stdout).state).toBe('active');

  // The same post from the console's own page goes through.
  // (Chromium sends Origin "null" for it: the console's Referrer-Policy is no-referrer.)
  expect((await post({ origin: 'null', 'sec-fetch-site': 'same-origin' }, `_csrf=${csrf}`)).status).toBe(303);
  const paused = await cli(['subscriptions', 'get', subscriptionId, '--tenant', 'csrf-shop', '--json', '--local', stateFile]);
  expect(JSON.parse(paused.stdout).state).toBe('paused');
});

test('the tenant page lists each subscription with state, health, events, status filter, URL and last success', async () => {
  const { subscriptionId, url } = recovered!;
  await page.goto(`${origin}/tenants/parked-shop`);
  const row = page.getByRole('table', { name: 'Subscriptions' }).getByRole('row', { name: new RegExp(subscriptionId) });
  const cells = await row.locator('td').allTextContents();
  expect(cells.slice(1, 6).map((c) => c.trim())).toEqual(['active', 'healthy', '*', '*', url]);
  // The endpoint answered the redriven job: its last success is a time, not "-".
  expect(cells[6]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z$/);
  await page.locator('table[aria-label="Deliveries"] tbody tr').filter({ hasText: 'discarded' }).waitFor();
  await shoot(page, 'tenant');
});

test('a tenant no event could name, or a key DynamoDB refuses, is a bad request (400) with the reason, not a server error', async () => {
  const cookie = await sessionCookie();
  const long = 'a'.repeat(3000);
  for (const [where, reason] of [
    [`/tenants/${long}`, 'at most 256 are allowed'],
    [`/tenants/${long}/subscriptions/sub_x`, 'at most 256 are allowed'],
    [`/tenants/${long}/deliveries/msg_x`, 'at most 256 are allowed'],
    [`/live/deliveries?tenant=${long}`, 'at most 256 are allowed'],
    [`/tenants/acme/subscriptions/${'x'.repeat(1500)}`, 'ValidationException'],
  ] as const) {
    const answer = await raw(where, { headers: { cookie } });
    expect({ where: where.slice(0, 40), status: answer.status }).toEqual({ where: where.slice(0, 40), status: 400 });
    expect(answer.body).toContain(reason);
    expect(answer.body).not.toContain('Something went wrong');
  }
  // A form post whose body cannot be read: 400 too.
  const garbled = await raw('/send', { method: 'POST', headers: { cookie, 'content-type': 'multipart/form-data; boundary=zz' }, body: '--zz\r\ngarbage' });
  expect(garbled.status).toBe(400);
});

test("tenants named '.', '..' or starting with '~' are reachable (browsers resolve '.' and '..' segments): opened by name, a subscription created and opened", async () => {
  const good = await receiver(() => 204);
  for (const tenant of ['.', '..', '~odd']) {
    await page.goto(`${origin}/`);
    const open = page.getByRole('form', { name: 'Open a tenant' });
    await open.getByLabel('Tenant').fill(tenant);
    await open.getByRole('button', { name: 'Open tenant' }).click();
    await page.getByRole('heading', { name: `Tenant ${tenant}`, exact: true }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/tenants/~${tenant}`);

    await page.getByLabel('URL', { exact: true }).fill(good.url);
    await page.getByLabel('Events', { exact: true }).fill('*');
    await page.getByRole('button', { name: 'Create subscription' }).click();
    await page.getByRole('heading', { name: 'Subscription created' }).waitFor();
    const subscriptionId = (await page.getByRole('link', { name: /^sub_/ }).first().textContent())!;
    await page.getByRole('link', { name: subscriptionId }).first().click();
    await page.getByRole('heading', { name: `Subscription ${subscriptionId}` }).waitFor();
    // The crumbs lead back to the same tenant, not to the overview.
    await page.locator('.crumbs').getByRole('link', { name: tenant, exact: true }).click();
    await page.getByRole('heading', { name: `Tenant ${tenant}`, exact: true }).waitFor();
    await page.getByRole('row', { name: new RegExp(subscriptionId) }).waitFor();
  }
});

test('Ctrl-C stops the console', async () => {
  const child = consoleHandle!.process;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGINT');
  expect(await exited).toBe(0);
  expect(consoleHandle!.output()).toContain('console stopped');
  await expect(raw('/')).rejects.toThrow(/ECONNREFUSED/);
});
