/**
 * The HTTP sender over TLS, against real HTTPS receivers on 127.0.0.1 whose certificates come from
 * a test CA made here with openssl. Only this test tells the sender to trust that CA.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpSender } from '../../lambdas/adapters/http-sender';
import { deliver, type DeliveryConfig, type DeliveryPorts } from '../../lambdas/core/delivery';
import { buildJob, type DeliveryJob } from '../../lambdas/core/job';
import { DEFAULT_BREAKER_POLICY } from '../../lambdas/core/breaker';
import { deadlineSpanMs } from '../../lambdas/core/retry';
import { classify } from '../../lambdas/core/outcome';
import { noMetrics, silentLog } from '../../lambdas/core/ports';
import { newSecret } from '../../lambdas/core/subscriptions';

const dir = mkdtempSync(join(tmpdir(), 'statushooks-tls-'));
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
const pem = (name: string) => readFileSync(join(dir, name));

/** Makes a key and a certificate signed by the test CA (or self-signed), valid for the given names. */
function leaf(name: string, san: string, dates: string[] = ['-days', '2']): void {
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=statushooks test receiver', '-addext', `subjectAltName=${san}`);
  openssl('ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.crt', '-keyfile', 'ca.key', '-in', `${name}.csr`, '-out', `${name}.crt`, '-notext', ...dates);
}

beforeAll(() => {
  writeFileSync(join(dir, 'ca.cnf'), '[ca]\ndefault_ca=t\n[t]\ndir=.\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\ncopy_extensions=copy\nunique_subject=no\n[p]\ncommonName=supplied\n');
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '01\n');
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=statushooks test CA', '-days', '2');
  leaf('good', 'DNS:localhost,IP:127.0.0.1');
  leaf('expired', 'DNS:localhost,IP:127.0.0.1', ['-startdate', '20200101000000Z', '-enddate', '20200102000000Z']);
  leaf('wronghost', 'DNS:other.example');
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'self.key', '-out', 'self.crt', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '2');
  // A certificate from a CA the sender does not trust (the receiver sends the leaf only).
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other-ca.key', '-out', 'other-ca.crt', '-subj', '/CN=statushooks other CA', '-days', '2');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'untrusted.key', '-out', 'untrusted.csr', '-subj', '/CN=statushooks test receiver', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  openssl('ca', '-batch', '-config', 'ca.cnf', '-cert', 'other-ca.crt', '-keyfile', 'other-ca.key', '-in', 'untrusted.csr', '-out', 'untrusted.crt', '-notext', '-days', '2');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Closed after each test, also when an assertion failed halfway (an open server keeps jest from exiting). */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function receiver(name: string): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server = https.createServer({ key: pem(`${name}.key`), cert: pem(`${name}.crt`) }, (_req, res) => {
    hits++;
    res.writeHead(204).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `https://localhost:${port}/hooks`, hits: () => hits };
}

function sender(): HttpSender {
  const s = new HttpSender({
    policy: { allowPrivate: true, allowHttp: false },
    timeoutMs: 5000,
    connectTimeoutMs: 3000,
    ca: pem('ca.crt'),
    // localhost may resolve to ::1 first; the receivers listen on 127.0.0.1 only.
    resolve: async () => [{ address: '127.0.0.1', family: 4 }],
  });
  cleanups.push(() => s.close());
  return s;
}

const post = (url: string) => ({ url: new URL(url), headers: { 'content-type': 'application/json' }, body: '{}' });

describe('webhooks over TLS', () => {
  it('delivers to a receiver whose certificate the trusted CA issued for its name', async () => {
    const r = await receiver('good');
    const s = sender();
    await expect(s.send(post(r.url))).resolves.toMatchObject({ kind: 'response', status: 204 });
    expect(r.hits()).toBe(1);
  });

  // Each message is about the endpoint's certificate, with Node's code; the same on Node.js 20
  // and on the functions' Node.js 24, which appends advice about its own trust store to some.
  it.each([
    ['an expired certificate', 'expired', /^certificate has expired \(CERT_HAS_EXPIRED\)$/],
    ['a certificate for another host name', 'wronghost', /^Hostname\/IP does not match certificate's altnames: .*other\.example \(ERR_TLS_CERT_ALTNAME_INVALID\)$/],
    ['a self-signed certificate', 'self', /^self-signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\)$/],
    ['a certificate from an untrusted CA', 'untrusted', /^unable to verify the first certificate \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/],
  ])('refuses %s with a clear TLS error, before any request reaches the receiver', async (_label, name, message) => {
    const r = await receiver(name);
    const s = sender();
    const result = await s.send(post(r.url));
    expect(result).toMatchObject({ kind: 'error', error: 'tls', message: expect.stringMatching(message) });
    expect(classify(result, new Date())).toMatchObject({ kind: 'retryable', reason: expect.stringMatching(/^tls: /) });
    expect(r.hits()).toBe(0);
  });

  it('is not retried forever: the last attempt parks the job with the TLS reason', async () => {
    const r = await receiver('expired');
    const s = sender();
    const secret = newSecret();
    const body = '{"event":"return_order.status.changed"}';
    const job = buildJob({ eventId: 'evt-tls', event: 'return_order.status.changed', entityKey: 'returnOrder', tenantId: 'acme', oldStatus: 'a', newStatus: 'b', entity: { uuid: 'u', number: null, externalId: null }, time: new Date().toISOString() }, 'sub_tls', body);
    const parked: string[] = [];
    const moved: DeliveryJob[] = [];
    const ports: DeliveryPorts = {
      getSubscription: async () => ({ tenantId: 'acme', subscriptionId: 'sub_tls', url: r.url, events: ['*'], secret, state: 'active' }),
      disableSubscription: async () => 'disabled' as const,
      // An endpoint that never failed before (health is not what this test is about).
      endpointHealth: async () => undefined,
      saveHealth: async (_t, _s, result) => ({ health: result.health }),
      acquireProbe: async () => true,
      markSlow: async () => undefined,
      takeToken: async () => true,
      markDisabled: async () => undefined,
      resetHealth: async () => undefined,
      publishOperational: async () => undefined,
      send: (request) => s.send(request),
      retryLater: async () => undefined,
      toRetryLane: async (next) => void moved.push(next),
      park: async (_body, reason) => void parked.push(reason),
      now: () => new Date(),
      rng: () => 0.5,
      log: silentLog,
      metrics: noMetrics,
    };
    const retry = { maxAttempts: 5, schedule: [60], jitter: 0, maxRetryAfterSeconds: 60 };
    const config: DeliveryConfig = { lane: 'retry', retry, breaker: DEFAULT_BREAKER_POLICY, endpoints: { allowPrivate: true, allowHttp: false }, userAgent: 'statushooks/test', deadlineSpanMs: deadlineSpanMs(retry, 10_000, 60_000) };
    // Attempt 4 fails with the TLS reason and continues in the retry lane as attempt 5's job ...
    await expect(deliver(JSON.stringify({ ...job, attempts: 3 }), 1, ports, config)).resolves.toMatchObject({ result: 'rescheduled', reason: expect.stringContaining('tls: ') });
    expect(moved[0]!.attempts).toBe(4);
    // ... which is the last: it parks the job with the reason.
    await expect(deliver(JSON.stringify(moved[0]), 1, ports, config)).resolves.toMatchObject({ result: 'parked' });
    expect(parked).toEqual([expect.stringMatching(/^failed 5 attempts; last: tls: certificate has expired/)]);
  });
});
