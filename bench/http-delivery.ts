/**
 * Bench 2 — the delivery HTTP path. The real `HttpSender` (kept-alive agents whose `lookup`
 * runs the SSRF guard) POSTs N small signed bodies, 10 at a time like one SQS batch, to a local
 * receiver; compared with plain `http.request` without an agent (a new connection per request)
 * and with a plain kept-alive `http.Agent` that has no guard.
 *
 * The receiver runs in a worker thread so that client and server each get a core.
 */
import http from 'node:http';
import { Worker } from 'node:worker_threads';
import { HttpSender } from '../lambdas/adapters/http-sender';
import { DEFAULTS, type EndpointPolicy } from '../lambdas/core/config';
import { buildPayload, exampleDetail, parseDetail } from '../lambdas/core/events';
import { signatureHeaders } from '../lambdas/core/signing';
import { deliveryIdFor, newSecret } from '../lambdas/core/subscriptions';
import { fmt, get, timeCases, type Section } from './lib/timing';

const REQUESTS = 2000;
const CONCURRENCY = 10;
/** `localhost`, not 127.0.0.1: every new socket goes through a name lookup (the guard's, for the sender). */
const HOST = 'localhost';
const POLICY: EndpointPolicy = { allowPrivate: true, allowHttp: true };

/** Plain JavaScript (no TypeScript loader needed in the worker): a receiver answering 200 "ok". */
const RECEIVER = `
const { parentPort } = require('node:worker_threads');
const http = require('node:http');
let connections = 0, requests = 0;
const server = http.createServer({ keepAliveTimeout: 60000 }, (req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    requests++;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
    res.end('ok');
  });
});
server.on('connection', () => connections++);
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', (m) => {
  if (m === 'stats') { parentPort.postMessage({ connections, requests }); connections = 0; requests = 0; }
  if (m === 'close') { server.closeAllConnections(); server.close(() => parentPort.postMessage({ closed: true })); }
});
`;

interface Receiver {
  readonly port: number;
  /** New connections and requests since the last call. */
  stats(): Promise<{ connections: number; requests: number }>;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const worker = new Worker(RECEIVER, { eval: true });
  const next = <T>() =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: T) => {
        worker.off('error', onError);
        resolve(m);
      };
      const onError = (e: Error) => {
        worker.off('message', onMessage);
        reject(e);
      };
      worker.once('message', onMessage);
      worker.once('error', onError);
    });
  const { port } = await next<{ port: number }>();
  return {
    port,
    stats: () => {
      const reply = next<{ connections: number; requests: number }>();
      worker.postMessage('stats');
      return reply;
    },
    close: async () => {
      const reply = next<{ closed: boolean }>();
      worker.postMessage('close');
      await reply;
      await worker.terminate();
    },
  };
}

/** Sends `count` requests with `concurrency` in flight; resolves with the number of non-2xx/errors. */
async function pool(count: number, concurrency: number, send: () => Promise<boolean>): Promise<number> {
  let next = 0;
  let failed = 0;
  const lane = async () => {
    while (next < count) {
      next++;
      if (!(await send())) failed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return failed;
}

function plainPost(agent: http.Agent | false, port: number, headers: Record<string, string>, body: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request(
      { hostname: HOST, port, path: '/hooks/bench', method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300));
      },
    );
    req.on('error', () => resolve(false));
    req.end(body);
  });
}

export async function benchHttpDelivery(): Promise<Section> {
  const receiver = await startReceiver();
  try {
    const change = { ...parseDetail('return_order.status.changed', exampleDetail('return_order.status.changed')), eventId: 'evt-bench', time: new Date().toISOString() };
    const body = buildPayload(change);
    const deliveryId = deliveryIdFor(change.eventId, 'sub_bench');
    const headers = { 'content-type': 'application/json', 'user-agent': 'statushooks/bench', ...signatureHeaders(deliveryId, body, [newSecret()], new Date()) };
    const url = new URL(`http://${HOST}:${receiver.port}/hooks/bench`);

    // Fresh agents every round: each round is "a cold instance, then N requests", so the
    // guarded lookup runs for every socket the sender opens (≤ CONCURRENCY per round).
    let sender: HttpSender | undefined;
    let plainAgent: http.Agent | undefined;
    const failures = new Map<string, number>();
    const connections = new Map<string, number[]>();
    const track = (name: string, failed: number): void => void failures.set(name, (failures.get(name) ?? 0) + failed);
    const countConnections = (name: string) => async () => {
      const s = await receiver.stats();
      connections.set(name, [...(connections.get(name) ?? []), s.connections]);
    };

    const names = { noKeepAlive: 'http.request, agent: false', keepAlive: 'http.Agent keep-alive, no guard', sender: 'HttpSender (keep-alive + guard)' } as const;
    const timings = await timeCases(
      [
        {
          name: names.noKeepAlive,
          ops: REQUESTS,
          before: async () => void (await receiver.stats()),
          run: async () => track(names.noKeepAlive, await pool(REQUESTS, CONCURRENCY, () => plainPost(false, receiver.port, headers, body))),
          after: countConnections(names.noKeepAlive),
        },
        {
          name: names.keepAlive,
          ops: REQUESTS,
          before: async () => {
            await receiver.stats();
            plainAgent = new http.Agent({ keepAlive: true, maxSockets: 50 });
          },
          run: async () => track(names.keepAlive, await pool(REQUESTS, CONCURRENCY, () => plainPost(plainAgent!, receiver.port, headers, body))),
          after: async () => {
            plainAgent?.destroy();
            await countConnections(names.keepAlive)();
          },
        },
        {
          name: names.sender,
          ops: REQUESTS,
          before: async () => {
            await receiver.stats();
            sender = new HttpSender({ policy: POLICY, timeoutMs: DEFAULTS.httpTimeoutMs, connectTimeoutMs: DEFAULTS.httpConnectTimeoutMs });
          },
          run: async () =>
            track(
              names.sender,
              await pool(REQUESTS, CONCURRENCY, async () => {
                const r = await sender!.send({ url, headers, body });
                return r.kind === 'response' && r.status >= 200 && r.status < 300;
              }),
            ),
          after: async () => {
            sender?.close();
            await countConnections(names.sender)();
          },
        },
      ],
      { warmup: 1, rounds: 5 },
    );
    for (const [name, n] of failures) if (n > 0) throw new Error(`${name}: ${n} requests failed`);

    const base = get(timings, names.noKeepAlive);
    const keep = get(timings, names.keepAlive);
    const send = get(timings, names.sender);
    const conns = (name: string) => `${Math.max(...(connections.get(name) ?? [0]))} connections/round`;
    return {
      title: `2. Delivery HTTP path — ${REQUESTS} POSTs of ${Buffer.byteLength(body)} B, ${CONCURRENCY} in flight, to http://${HOST} (receiver in a worker thread)`,
      reading: 'ratio = req/s ÷ req/s of the no-keep-alive baseline (>1 = faster); last row = sender ÷ plain keep-alive (<1 = cost of the sender + guard)',
      rows: [
        { case: names.noKeepAlive, value: fmt.perSec(base.opsPerSec, 'req'), perOp: fmt.us(base.usPerOp), ratio: '1.00× (base)', note: conns(names.noKeepAlive) },
        { case: names.keepAlive, value: fmt.perSec(keep.opsPerSec, 'req'), perOp: fmt.us(keep.usPerOp), ratio: fmt.ratio(keep.opsPerSec / base.opsPerSec), note: conns(names.keepAlive) },
        { case: names.sender, value: fmt.perSec(send.opsPerSec, 'req'), perOp: fmt.us(send.usPerOp), ratio: fmt.ratio(send.opsPerSec / base.opsPerSec), note: conns(names.sender) },
        { case: 'sender ÷ plain keep-alive', value: '', perOp: '', ratio: fmt.ratio(send.opsPerSec / keep.opsPerSec), note: 'guard + timers + response cap, per request' },
      ],
    };
  } finally {
    await receiver.close();
  }
}
