/**
 * Bench 1 — the delivery hot path: the whole delivery handler against a plain keep-alive POST loop.
 *
 * Handler: `createDeliveryHandler` (lambdas/delivery/app.ts, what handler.ts exports) with the
 * real `HttpSender`, signing, logger (INFO, as deployed) and metrics, and in-memory stores for
 * the AWS calls (subscriptions, endpoint health, delivery log, queues), all loaded from an
 * esbuild bundle made like the functions' (minified). It gets SQS batches of 10 job records, as
 * Lambda gives them.
 * Ablations (rows 3 to 5): the same handler with a sender stub that answers at once (the
 * delivery logic alone), with a bare keep-alive `http.request` as its sender, and with a sender
 * that is no HTTP client at all: it writes the request's bytes on one of 10 open sockets and reads
 * the status line of the answer (what Node's HTTP client costs, as a floor; not a usable client).
 * Baseline: the least any webhook sender does: `http.request` POSTs of the same body through a
 * kept-alive `http.Agent`, 10 at a time, waiting for each group of 10 like a batch does.
 *
 * The receiver is another process on 127.0.0.1, so this process's CPU time (process.cpuUsage)
 * is the client's alone. It answers at once (this process is then CPU-bound, and the throughput
 * ratio is about 1 ÷ the CPU ratio); `--latency-ms N` makes it answer after N ms, as an endpoint
 * does, where throughput is bound by the endpoint instead. Rounds alternate between the cases
 * (A B, B A, …): drift of the machine hits all alike; medians are reported. Ratios: handler ÷ baseline (throughput ≥ 0.9×,
 * CPU per delivery ≤ 1.5× are the targets).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { createInterface } from 'node:readline';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { DEFAULTS, type EndpointPolicy } from '../lambdas/core/config';
import { buildPayload, exampleDetail, parseDetail } from '../lambdas/core/events';
import { buildJob } from '../lambdas/core/job';
import { parseSubscription, newSecret, type Subscription } from '../lambdas/core/subscriptions';
import type { DeliveryHandler } from '../lambdas/delivery/app';
import { esbuildOptions } from '../lib/bundle-options';
import { fmt, median, type Section } from './lib/timing';

type Shipped = typeof import('./lib/hot-path-entry');

/** The handler and its adapters bundled as lib/function.ts bundles the functions. */
async function loadShipped(): Promise<{ shipped: Shipped; cleanup: () => void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'statushooks-hot-path-'));
  const outfile = path.join(dir, 'index.js');
  await esbuild.build(esbuildOptions({ entryPoints: [path.join(__dirname, 'lib', 'hot-path-entry.ts')], outfile, sourcemap: false }));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return { shipped: require(outfile) as Shipped, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

const BATCH = 10;
const TENANT = 'acme-shop';
const POLICY: EndpointPolicy = { allowPrivate: true, allowHttp: true };

/**
 * Plain JavaScript: answers every POST with 204 once its body is read (after `argv[1]` ms: an
 * endpoint's latency, 0 by default); prints its port.
 */
const RECEIVER = `
const http = require('node:http');
const latencyMs = Number(process.argv[1] || 0);
const answer = (res) => { res.writeHead(204); res.end(); };
const server = http.createServer({ keepAliveTimeout: 60000 }, (req, res) => {
  req.on('data', () => {});
  req.on('end', () => (latencyMs > 0 ? setTimeout(answer, latencyMs, res) : answer(res)));
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

async function startReceiver(latencyMs: number): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', RECEIVER, String(latencyMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`receiver exited ${code}`)));
  });
  return { port: Number(line), child };
}

interface Fixture {
  readonly subscriptions: Subscription[];
  readonly batches: SQSEvent[];
  readonly body: string;
}

function fixture(port: number, deliveries: number): Fixture {
  const subscriptions = Array.from({ length: BATCH }, (_, i) =>
    parseSubscription({
      tenantId: TENANT,
      subscriptionId: `sub_${i.toString(16).padStart(24, '0')}`,
      url: `http://127.0.0.1:${port}/hooks/${i}`,
      events: ['*'],
      secret: newSecret(),
      state: 'active',
      createdAt: '2026-01-01T00:00:00Z',
      updatedAt: '2026-01-01T00:00:00Z',
    }),
  );
  const batches: SQSEvent[] = [];
  let body = '';
  for (let b = 0; b < deliveries / BATCH; b++) {
    const records: SQSRecord[] = subscriptions.map((sub, i) => {
      const n = b * BATCH + i;
      const change = { ...parseDetail('return_order.status.changed', exampleDetail('return_order.status.changed')), tenantId: TENANT, eventId: `evt-${n}`, time: new Date().toISOString() };
      body = buildPayload(change);
      const job = buildJob(change, sub.subscriptionId, body);
      return {
        messageId: `m-${n}`,
        receiptHandle: `r-${n}`,
        body: JSON.stringify(job),
        attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()), SenderId: 'bench', ApproximateFirstReceiveTimestamp: String(Date.now()) },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:statushooks-delivery',
        awsRegion: 'us-east-1',
      };
    });
    batches.push({ Records: records });
  }
  return { subscriptions, batches, body };
}

type Sender = Parameters<Shipped['createDeliveryHandler']>[0]['sender'];

/** The whole handler with in-memory stand-ins for DynamoDB and SQS; counts what they were asked. */
function buildHandler(f: Fixture, shipped: Shipped, sender?: Sender): { handler: DeliveryHandler; counts: { logWrites: number; failed: number } } {
  const counts = { logWrites: 0, failed: 0 };
  const { createDeliveryHandler, HttpSender, observability, breakerPolicyFromEnv, healthCacheTtlFromEnv, retryPolicyFromEnv } = shipped;
  const byId = new Map(f.subscriptions.map((s) => [s.subscriptionId, s]));
  const handler = createDeliveryHandler(
    {
      store: { get: async (_t, id) => byId.get(id), disable: async () => 'disabled' as const },
      health: {
        get: async () => undefined,
        save: async (_t, _s, result) => ({ health: result.health, transition: result.transition }),
        acquireProbe: async () => true,
        markSlow: async () => {},
        takeToken: async () => true,
        markDisabled: async () => {},
        resetIfDisabledAt: async () => {},
      },
      operational: { publishOperational: async () => {} },
      deliveryLog: { logQueued: async () => new Map(), logUpdate: async () => void counts.logWrites++ },
      sender: sender ?? new HttpSender({ policy: POLICY, timeoutMs: DEFAULTS.httpTimeoutMs, connectTimeoutMs: DEFAULTS.httpConnectTimeoutMs }),
      ownQueue: { changeVisibility: async () => void counts.failed++ },
      retryLane: { sendJob: async () => void counts.failed++ },
      parking: { parkJob: async () => void counts.failed++ },
      observability: observability('statushooks-delivery'),
      subscriptionCacheTtlMs: DEFAULTS.subscriptionCacheTtlMs,
      healthCacheTtlMs: healthCacheTtlFromEnv({}),
    },
    // The deployed defaults: the same functions read them from an environment with nothing set.
    { lane: 'fast', retry: retryPolicyFromEnv({}), breaker: breakerPolicyFromEnv({}), endpoints: POLICY, userAgent: 'statushooks/bench', deadlineSpanMs: 86_400_000 },
  );
  return { handler, counts };
}

function plainPost(agent: http.Agent, port: number, path: string, headers: Record<string, string>, body: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300));
    });
    req.on('error', () => resolve(false));
    req.end(body);
  });
}

/**
 * The floor under any HTTP client: `sockets` kept-open connections, each request's bytes written
 * by hand, and the answer's status read off its first line once its head has arrived. Only for a
 * receiver that answers every request with a bodiless 204, as this bench's does; `failed` counts
 * anything else.
 */
async function rawSocketSender(port: number, sockets: number): Promise<{ send: Sender['send']; failed: () => number; close: () => void }> {
  interface Conn { readonly socket: net.Socket; head: string; pending?: (status: number) => void }
  let failed = 0;
  const idle: Conn[] = [];
  const all = await Promise.all(
    Array.from({ length: sockets }, () =>
      new Promise<Conn>((resolve, reject) => {
        const socket = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(conn));
        const conn: Conn = { socket, head: '' };
        socket.once('error', reject);
        socket.on('data', (chunk: Buffer) => {
          // Usually the whole head in one packet; a head split across packets waits for its end.
          conn.head += chunk.toString('latin1');
          const end = conn.head.indexOf('\r\n\r\n');
          if (end < 0) return;
          const status = /^HTTP\/1\.1 (\d{3}) /.exec(conn.head)?.[1];
          if (status !== '204' || end + 4 !== conn.head.length) failed++;
          conn.head = '';
          const pending = conn.pending!;
          conn.pending = undefined;
          idle.push(conn);
          pending(Number(status ?? 0));
        });
      }),
    ),
  );
  idle.push(...all);
  return {
    send: (request) =>
      new Promise((resolve) => {
        const conn = idle.pop()!;
        conn.pending = (status) => resolve({ kind: 'response', status, durationMs: 0 });
        let head = `POST ${request.url.pathname} HTTP/1.1\r\nhost: ${request.url.host}\r\n`;
        for (const [name, value] of Object.entries(request.headers)) head += `${name}: ${value}\r\n`;
        conn.socket.write(`${head}content-length: ${Buffer.byteLength(request.body)}\r\n\r\n${request.body}`);
      }),
    failed: () => failed,
    close: () => all.forEach((c) => c.socket.destroy()),
  };
}

interface Round {
  readonly ms: number;
  readonly cpuUs: number;
}

async function measure(run: () => Promise<void>): Promise<Round> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  await run();
  const ms = performance.now() - t;
  const used = process.cpuUsage(cpu);
  return { ms, cpuUs: used.user + used.system };
}

export async function benchHotPath(options: { deliveries?: number; rounds?: number; latencyMs?: number } = {}): Promise<Section> {
  const latencyMs = options.latencyMs ?? 0;
  // With latency a round takes deliveries ÷ 10 × latency: fewer deliveries keep it short.
  const deliveries = options.deliveries ?? (latencyMs > 0 ? 500 : 2_000);
  const rounds = options.rounds ?? 7;
  const receiver = await startReceiver(latencyMs);
  const { shipped, cleanup } = await loadShipped();
  try {
    const f = fixture(receiver.port, deliveries);
    const { handler, counts } = buildHandler(f, shipped);
    // Two ablations of the same handler: no HTTP at all (the delivery logic alone), and a bare
    // keep-alive `http.request` instead of HttpSender (no guard, timers or response snippet).
    const stubbed = buildHandler(f, shipped, { send: async () => ({ kind: 'response', status: 204, durationMs: 0 }) });
    const bareAgent = new http.Agent({ keepAlive: true, maxSockets: BATCH });
    const bare = buildHandler(f, shipped, {
      send: async (request) => {
        const ok = await plainPost(bareAgent, receiver.port, request.url.pathname, request.headers, request.body);
        return ok ? { kind: 'response', status: 204, durationMs: 0 } : { kind: 'error', error: 'connection', message: 'bare POST failed', durationMs: 0 };
      },
    });
    // Bodies are ASCII JSON: one string write per request, head and body together.
    const raw = await rawSocketSender(receiver.port, BATCH);
    const rawHandler = buildHandler(f, shipped, { send: raw.send });
    const context = { awsRequestId: 'bench', functionName: 'statushooks-delivery', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
    const agent = new http.Agent({ keepAlive: true, maxSockets: BATCH });
    // The baseline sends the same bytes: body, content type and the three signature headers.
    const headers = { 'content-type': 'application/json', 'user-agent': 'statushooks/bench', 'webhook-id': 'msg_00000000000000000000000000000000', 'webhook-timestamp': '1796360000', 'webhook-signature': `v1,${'A'.repeat(44)}` };
    let baselineFailures = 0;
    const runHandler = async (run: DeliveryHandler, tally: { failed: number }) => {
      // The EMF lines the metrics print (one per invocation) are produced as on Lambda, then
      // dropped here instead of filling the terminal.
      const write = process.stdout.write;
      process.stdout.write = (() => true) as typeof process.stdout.write;
      try {
        for (const batch of f.batches) {
          const response = await run(batch, context);
          tally.failed += response.batchItemFailures.length;
        }
      } finally {
        process.stdout.write = write;
      }
    };

    const cases = {
      'keep-alive POST loop (baseline)': async () => {
        for (const batch of f.batches) {
          const results = await Promise.all(batch.Records.map((_, i) => plainPost(agent, receiver.port, `/hooks/${i}`, headers, f.body)));
          baselineFailures += results.filter((ok) => !ok).length;
        }
      },
      'delivery handler': () => runHandler(handler, counts),
      'ablation: sender stub (logic alone)': () => runHandler(stubbed.handler, stubbed.counts),
      'ablation: bare http.request sender': () => runHandler(bare.handler, bare.counts),
      'ablation: raw socket, no HTTP client': () => runHandler(rawHandler.handler, rawHandler.counts),
      // The baseline's requests on the same sockets: what Node's HTTP client adds to a POST.
      'raw socket POST loop (no HTTP client)': async () => {
        const requests = Array.from({ length: BATCH }, (_, i) => ({ url: new URL(`http://127.0.0.1:${receiver.port}/hooks/${i}`), headers, body: f.body }));
        for (let b = 0; b < f.batches.length; b++) await Promise.all(requests.map((request) => raw.send(request)));
      },
    } as const;
    const notes: Partial<Record<keyof typeof cases, string>> = {
      'delivery handler': 'throughput / CPU per delivery',
      'ablation: sender stub (logic alone)': 'the same handler, to see where its CPU goes',
      'ablation: bare http.request sender': 'the same handler, to see where its CPU goes',
      'ablation: raw socket, no HTTP client': 'the same handler, to see where its CPU goes',
      'raw socket POST loop (no HTTP client)': 'the baseline without http.request',
    };
    // With latency the two floors (no HTTP at all, no HTTP client) say nothing new: left out.
    const floors: string[] = ['raw socket POST loop (no HTTP client)', 'ablation: sender stub (logic alone)', 'ablation: raw socket, no HTTP client'];
    const names = (Object.keys(cases) as (keyof typeof cases)[]).filter((name) => latencyMs === 0 || !floors.includes(name));
    const results = new Map<string, Round[]>(names.map((n) => [n, []]));
    for (let r = 0; r < rounds + 1; r++) {
      for (const name of r % 2 === 0 ? names : [...names].reverse()) {
        const round = await measure(cases[name]);
        if (r > 0) results.get(name)!.push(round); // round 0 warms JIT, sockets and caches
      }
    }
    agent.destroy();
    bareAgent.destroy();
    raw.close();
    if (raw.failed() > 0) throw new Error(`hot-path bench: the raw-socket sender read ${raw.failed()} answers that were not a bodiless 204`);
    const tallies = { 'delivery handler': counts, 'ablation: sender stub (logic alone)': stubbed.counts, 'ablation: bare http.request sender': bare.counts, 'ablation: raw socket, no HTTP client': rawHandler.counts } as const;
    for (const name of names.filter((n): n is keyof typeof tallies => n in tallies)) {
      const c = tallies[name];
      if (baselineFailures > 0 || c.failed > 0) throw new Error(`hot-path bench: ${baselineFailures} baseline and ${c.failed} ${name} deliveries failed`);
      if (c.logWrites !== deliveries * (rounds + 1)) throw new Error(`hot-path bench: ${c.logWrites} delivery-log writes (${name}) for ${deliveries * (rounds + 1)} deliveries`);
    }

    const summary = (name: string) => {
      const rs = results.get(name)!;
      return { perSec: deliveries / (median(rs.map((x) => x.ms)) / 1000), cpuUs: median(rs.map((x) => x.cpuUs)) / deliveries };
    };
    const base = summary(names[0]!);
    return {
      title: `${latencyMs > 0 ? '1b' : '1'}. Delivery hot path — the whole handler vs a plain keep-alive POST loop (${deliveries} deliveries per round, batches of ${BATCH}, median of ${rounds} interleaved rounds${latencyMs > 0 ? `, the receiver answering after ${latencyMs} ms` : ''})`,
      reading: 'result = deliveries/s; per op = this process\'s CPU per delivery (receiver in another process); ratio = throughput ÷ baseline (target ≥ 0.90×), then CPU ÷ baseline (target ≤ 1.50×)',
      rows: names.map((name) => {
        const s = summary(name);
        return {
          case: name,
          value: fmt.perSec(s.perSec, 'deliveries'),
          perOp: `${fmt.us(s.cpuUs)} CPU`,
          ratio: name === names[0] ? '' : `${fmt.ratio(s.perSec / base.perSec)} / ${fmt.ratio(s.cpuUs / base.cpuUs)}`,
          note: notes[name] ?? '',
        };
      }),
    };
  } finally {
    receiver.child.kill();
    cleanup();
  }
}

if (require.main === module) {
  const arg = (flag: string) => (process.argv.includes(flag) ? Number(process.argv[process.argv.indexOf(flag) + 1]) : undefined);
  benchHotPath({ deliveries: arg('--deliveries'), rounds: arg('--rounds'), latencyMs: arg('--latency-ms') }).then(
    async (section) => console.log((await import('./lib/timing')).renderSection(section)),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
