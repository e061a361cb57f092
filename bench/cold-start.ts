/**
 * Bench 6 — cold start with the AWS SDK bundled vs taken from the Lambda runtime.
 *
 * Both handlers are bundled twice with the options of lib/function.ts: once with `@aws-sdk/*`
 * left out (what ships: the SDK comes from `NODE_PATH`, as Lambda's `/var/runtime/node_modules`)
 * and once with the SDK bundled in. Each sample is a fresh `node` process that loads a bundle
 * (module init: what Lambda's INIT phase runs) and then runs one fan-out invocation whose
 * DynamoDB query goes to a stub on 127.0.0.1 (the first AWS call loads the SDK's lazily required
 * parts: credentials, signing, the HTTP handler). Samples alternate between the two builds, so
 * drift of the machine hits both alike; medians are reported, and the ratio reads "runtime SDK ÷
 * bundled SDK" (below 1.00×: taking the SDK from the runtime starts faster).
 *
 * The runtime's SDK is this package's own `node_modules/@aws-sdk` here; on Lambda it is the
 * runtime's, already on the machine (and often in the page cache), so this errs against it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { ENV } from '../lambdas/core/config';
import { esbuildOptions } from '../lib/bundle-options';
import { fmt, median, type Row, type Section } from './lib/timing';

const ROOT = path.resolve(__dirname, '..');
const HANDLERS = { 'fan-out': 'lambdas/fan-out/handler.ts', delivery: 'lambdas/delivery/handler.ts' } as const;
type HandlerName = keyof typeof HANDLERS;
type Build = 'runtime SDK' | 'bundled SDK';

/** Loads a bundle, then (fan-out) runs one invocation; prints {initMs, firstMs}. Plain JS. */
const CHILD = `
const { performance } = require('node:perf_hooks');
const t0 = performance.now();
const mod = require(process.argv[1]);
const t1 = performance.now();
const event = { version: '0', id: 'cold-start', 'detail-type': 'return_order.status.changed', source: 'bench', account: '000000000000', time: new Date().toISOString(), region: 'us-east-1', resources: [],
  detail: { tenantId: 'bench', event: 'return_order.status.changed', oldStatus: 'approved', newStatus: 'option_selected', returnOrder: { number: '1', uuid: '6f1c2f8e-6a53-4c5e-9a59-2f1f1d7b8a11', externalId: null } } };
const first = process.argv[2] === 'invoke' ? mod.handler(event) : Promise.resolve();
first.then(
  () => { process.stdout.write('\\n' + JSON.stringify({ initMs: t1 - t0, firstMs: performance.now() - t1 })); },
  (e) => { process.stderr.write(String(e && e.stack || e)); process.exitCode = 1; },
);
`;

async function buildAll(dir: string): Promise<Map<string, { file: string; bytes: number }>> {
  const out = new Map<string, { file: string; bytes: number }>();
  for (const [name, entry] of Object.entries(HANDLERS) as [HandlerName, string][]) {
    for (const build of ['runtime SDK', 'bundled SDK'] as Build[]) {
      const outfile = path.join(dir, `${name}-${build === 'runtime SDK' ? 'runtime' : 'bundled'}`, 'index.js');
      await esbuild.build(esbuildOptions({ entryPoints: [path.join(ROOT, entry)], outfile, sdk: build === 'runtime SDK' ? 'external' : 'bundled' }));
      out.set(`${name}/${build}`, { file: outfile, bytes: fs.statSync(outfile).size });
    }
  }
  return out;
}

/** Answers every AWS call: an empty DynamoDB query result (no subscriptions for the tenant). */
async function startStub(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ Items: [], Count: 0, ScannedCount: 0 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function sample(file: string, invoke: boolean, env: NodeJS.ProcessEnv): Promise<{ initMs: number; firstMs: number }> {
  return new Promise((resolve, reject) => {
    // cwd outside the repository: the bundle must find the SDK through NODE_PATH, as on Lambda.
    const child = spawn(process.execPath, ['-e', CHILD, file, invoke ? 'invoke' : 'load'], { env, cwd: os.tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`cold-start sample of ${file} exited ${code}: ${stderr.trim().split('\n').slice(0, 5).join('\n')}`));
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop()!) as { initMs: number; firstMs: number });
      } catch {
        reject(new Error(`cold-start sample of ${file} printed no result: ${stdout}${stderr}`));
      }
    });
  });
}

export async function benchColdStart(samples = 15): Promise<Section> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'statushooks-cold-'));
  const stub = await startStub();
  try {
    const builds = await buildAll(dir);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      // Lambda's NODE_PATH includes the runtime's node_modules; here this package's SDK plays it.
      NODE_PATH: path.join(ROOT, 'node_modules'),
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_ENDPOINT_URL_DYNAMODB: stub.url,
      AWS_ENDPOINT_URL_SQS: stub.url,
      AWS_ENDPOINT_URL_EVENTBRIDGE: stub.url,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      POWERTOOLS_METRICS_NAMESPACE: 'bench',
      ...Object.fromEntries(Object.values(ENV).map((name) => [name, name.endsWith('_URL') ? `${stub.url}/000000000000/q` : name === ENV.deliveryLane ? 'fast' : 'bench'])),
    };
    // Settings read from the environment need valid values, not names.
    for (const name of [ENV.maxAttempts, ENV.retrySchedule, ENV.httpTimeoutMs, ENV.httpConnectTimeoutMs, ENV.allowPrivateEndpoints, ENV.allowHttpEndpoints, ENV.subscriptionCacheTtlMs]) delete env[name];
    const results = new Map<string, { init: number[]; first: number[] }>();
    for (let i = 0; i < samples + 1; i++) {
      const order: Build[] = i % 2 === 0 ? ['runtime SDK', 'bundled SDK'] : ['bundled SDK', 'runtime SDK'];
      for (const name of Object.keys(HANDLERS) as HandlerName[]) {
        for (const build of order) {
          const key = `${name}/${build}`;
          const r = await sample(builds.get(key)!.file, name === 'fan-out', env);
          if (i === 0) continue; // the first round warms the file cache
          const entry = results.get(key) ?? { init: [], first: [] };
          entry.init.push(r.initMs);
          entry.first.push(r.firstMs);
          results.set(key, entry);
        }
      }
    }
    const rows: Row[] = [];
    for (const name of Object.keys(HANDLERS) as HandlerName[]) {
      const total = (build: Build) => {
        const r = results.get(`${name}/${build}`)!;
        return { init: median(r.init), first: median(r.first), total: median(r.init.map((v, k) => v + r.first[k]!)) };
      };
      const bundled = total('bundled SDK');
      for (const build of ['bundled SDK', 'runtime SDK'] as Build[]) {
        const t = total(build);
        const what = name === 'fan-out' ? `init ${fmt.num(t.init, 0)} ms + first call ${fmt.num(t.first, 0)} ms` : `init ${fmt.num(t.init, 0)} ms`;
        rows.push({
          case: `${name}, ${build}`,
          value: `${fmt.num(t.total, 0)} ms`,
          perOp: fmt.bytes(builds.get(`${name}/${build}`)!.bytes),
          ratio: build === 'bundled SDK' ? '' : fmt.ratio(t.total / bundled.total),
          note: what,
        });
      }
    }
    return {
      title: `6. Cold start — the SDK from the runtime vs bundled (median of ${samples} fresh processes each, interleaved)`,
      reading: 'result = module init (+ fan-out: its first invocation, one DynamoDB query to a stub); per op = bundle bytes; ratio = runtime SDK ÷ bundled SDK',
      rows,
    };
  } finally {
    await stub.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const samples = Number(process.argv[process.argv.indexOf('--samples') + 1]) || 15;
  benchColdStart(samples).then(
    async (section) => console.log((await import('./lib/timing')).renderSection(section)),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
