/**
 * What each function ships, read off the synthesized cloud assembly (the assets `cdk deploy`
 * uploads): its size, what it expects the Lambda runtime to provide, and whether its stack traces
 * point at the TypeScript source.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { builtinModules } from 'node:module';
import { runtimeModules } from '../../local/startup/functions';
import { synth, type Synthesized } from './synth';

/** The budget: 250 KB per function, everything it ships counted. */
const MAX_ASSET_BYTES = 250_000;

interface Asset {
  readonly functionId: string;
  readonly dir: string;
  readonly files: Record<string, number>;
}

let s: Synthesized;
let assets: Asset[];
let workdir: string;

beforeAll(() => {
  s = synth();
  workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'statushooks-bundles-'));
  const resources = s.template.findResources('AWS::Lambda::Function') as Record<string, { Metadata?: Record<string, unknown> }>;
  assets = Object.entries(resources)
    .filter(([, r]) => typeof r.Metadata?.['aws:asset:path'] === 'string')
    .map(([functionId, r]) => {
      const dir = path.join(s.outdir, r.Metadata!['aws:asset:path'] as string);
      return { functionId, dir, files: Object.fromEntries(fs.readdirSync(dir).map((f) => [f, fs.statSync(path.join(dir, f)).size])) };
    });
});

afterAll(() => {
  s?.cleanup();
  if (workdir) fs.rmSync(workdir, { recursive: true, force: true });
});

const total = (a: Asset) => Object.values(a.files).reduce((sum, n) => sum + n, 0);

describe('function bundles', () => {
  it('bundles the fan-out and both delivery lanes from TypeScript', () => {
    const ids = assets.map((a) => a.functionId).join(' ');
    expect(ids).toMatch(/FanOut/);
    expect(ids).toMatch(/Delivery/);
    expect(ids).toMatch(/Retry/);
  });

  it('ships at most 250 KB per function, source map included', () => {
    for (const a of assets) {
      expect({ functionId: a.functionId, files: Object.keys(a.files).sort() }).toEqual({ functionId: a.functionId, files: ['index.js', 'index.js.map'] });
    }
    const over = assets.filter((a) => total(a) > MAX_ASSET_BYTES).map((a) => `${a.functionId}: ${total(a)} bytes`);
    expect(over).toEqual([]);
  });

  it('keeps the source map smaller than the code it maps (it does not double what ships)', () => {
    const doubled = assets.filter((a) => a.files['index.js.map']! >= a.files['index.js']!).map((a) => `${a.functionId}: map ${a.files['index.js.map']} ≥ code ${a.files['index.js']} bytes`);
    expect(doubled).toEqual([]);
  });

  it('leaves out only what the Lambda runtime provides: Node.js built-ins and the AWS SDK v3', () => {
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    for (const a of assets) {
      const code = fs.readFileSync(path.join(a.dir, 'index.js'), 'utf8');
      const required = [...new Set([...code.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]!))];
      const external = required.filter((m) => !builtins.has(m));
      expect({ functionId: a.functionId, external: external.filter((m) => !m.startsWith('@aws-sdk/')) }).toEqual({ functionId: a.functionId, external: [] });
      // The SDK is really left out (the point of the size budget): its clients are required, not inlined.
      expect(external).toEqual(expect.arrayContaining(['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-sqs']));
    }
  });

  it('loads with only the runtime SDK on NODE_PATH, and its stack traces name the TypeScript files and lines', () => {
    const nodePath = runtimeModules(workdir);
    for (const a of assets) {
      // Module init without its environment fails in the project's own code: the error's stack,
      // through the shipped source map, must point at the .ts source, not at index.js:1:<column>.
      const run = spawnSync(process.execPath, ['--enable-source-maps', '-e', `require(${JSON.stringify(path.join(a.dir, 'index.js'))})`], {
        cwd: workdir,
        env: { PATH: process.env.PATH, NODE_PATH: nodePath, AWS_REGION: 'us-east-1' },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(run.stderr).toMatch(/Error: environment variable [A-Z_]+ is required but not set/);
      expect(run.stderr).toMatch(/at requiredEnv \(.*lambdas\/adapters\/env\.ts:\d+:\d+\)/);
      expect(run.stderr).toMatch(/lambdas\/(fan-out|delivery)\/handler\.ts:\d+:\d+/);
      // Nothing else was missing: no module that the runtime lacks.
      expect(run.stderr).not.toMatch(/Cannot find module/);
    }
  });

  it('ships one copy of each package (no version installed twice, e.g. Powertools commons)', () => {
    for (const a of assets) {
      const map = JSON.parse(fs.readFileSync(path.join(a.dir, 'index.js.map'), 'utf8')) as { sources: string[] };
      // A package's folder: the path up to its last node_modules/<name> (or node_modules/@scope/name).
      const folders = new Map<string, Set<string>>();
      for (const source of map.sources) {
        const m = /^(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//.exec(source);
        if (!m) continue;
        folders.set(m[2]!, (folders.get(m[2]!) ?? new Set()).add(m[1]!));
      }
      expect(folders.size).toBeGreaterThan(0);
      const twice = [...folders].filter(([, dirs]) => dirs.size > 1).map(([name, dirs]) => `${name}: ${[...dirs].join(', ')}`);
      expect({ functionId: a.functionId, twice }).toEqual({ functionId: a.functionId, twice: [] });
    }
  });
});
