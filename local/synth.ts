/**
 * Synthesizes the CDK app in-process (the NodejsFunction bundles are built by the local esbuild
 * into the cloud assembly) and reads the stack's template: the single description of what runs.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { CfnTemplate } from './template';

export interface SynthesizedStack {
  readonly stackName: string;
  readonly template: CfnTemplate;
  /** The cloud assembly folder; asset paths in the template metadata are relative to it. */
  readonly assemblyDir: string;
}

/** The shape of `lib/app.ts` the runtime relies on. */
interface AppModule {
  createApp(options?: { context?: Record<string, unknown>; outdir?: string }): {
    app: { synth(): unknown };
    stack: { stackName: string; artifactId: string };
  };
}

interface AssemblyManifest {
  artifacts?: Record<string, { type?: string; properties?: { templateFile?: string } }>;
}

export async function synthesizeApp(options: { cwd: string; outdir: string; context: Record<string, unknown> }): Promise<SynthesizedStack> {
  const appPath = path.join(options.cwd, 'lib', 'app');
  let mod: AppModule;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(appPath) as AppModule;
  } catch (error) {
    throw new Error(`cannot load the CDK app from ${appPath}.ts: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof mod.createApp !== 'function') throw new Error(`${appPath}.ts does not export createApp()`);
  const { app, stack } = mod.createApp({ context: options.context, outdir: options.outdir });
  app.synth();
  return readAssembly(options.outdir, stack.artifactId, stack.stackName);
}

/** Reads one stack of a synthesized cloud assembly (`cdk.out`-style folder). */
export function readAssembly(assemblyDir: string, artifactId?: string, stackName?: string): SynthesizedStack {
  const manifest = JSON.parse(fs.readFileSync(path.join(assemblyDir, 'manifest.json'), 'utf8')) as AssemblyManifest;
  const stacks = Object.entries(manifest.artifacts ?? {}).filter(([, a]) => a.type === 'aws:cloudformation:stack');
  const chosen = artifactId ? stacks.find(([id]) => id === artifactId) : stacks.length === 1 ? stacks[0] : undefined;
  if (!chosen) {
    throw new Error(`the cloud assembly in ${assemblyDir} has ${stacks.length} stacks (${stacks.map(([id]) => id).join(', ')}); cannot tell which one to run`);
  }
  const [id, artifact] = chosen;
  const templateFile = artifact.properties?.templateFile ?? `${id}.template.json`;
  const template = JSON.parse(fs.readFileSync(path.join(assemblyDir, templateFile), 'utf8')) as CfnTemplate;
  return { stackName: stackName ?? id, template, assemblyDir };
}

/** Files whose content decides what the app synthesizes (the app, the handlers it bundles, deps). */
const SYNTH_INPUTS = ['lib', 'lambdas', 'scripts/trim-source-map.cjs', 'package.json', 'package-lock.json', 'tsconfig.json'];

function hashInputs(cwd: string, context: Record<string, unknown>): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(Object.entries(context).sort(([a], [b]) => a.localeCompare(b))));
  hash.update(process.version);
  const visit = (p: string) => {
    if (!fs.existsSync(p)) return;
    const stat = fs.statSync(p);
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(p).sort()) if (name !== 'node_modules' && !name.startsWith('.')) visit(path.join(p, name));
    } else {
      hash.update(path.relative(cwd, p));
      hash.update(fs.readFileSync(p));
    }
  };
  for (const input of SYNTH_INPUTS) visit(path.join(cwd, input));
  return hash.digest('hex').slice(0, 24);
}

/** A `tmp-` folder older than this is left over from a synthesis that was killed: pruned. */
const STALE_TMP_MS = 3_600_000;

/**
 * Synthesizes once per distinct input: the assembly is kept under
 * `node_modules/.cache/statushooks/synth/<hash of context, lib/, lambdas/, package files>`, so a
 * restart (or the next integration test file) skips the CDK synthesis and the bundling.
 * A synthesis writes into a `tmp-<hex>` folder first and renames it when complete; the folder is
 * removed when the synthesis fails or the process exits meanwhile, and by later runs once it is
 * older than an hour (a killed process cannot remove it).
 */
export async function synthesizeCached(options: { cwd: string; context: Record<string, unknown> }): Promise<SynthesizedStack> {
  const root = path.join(options.cwd, 'node_modules', '.cache', 'statushooks', 'synth');
  const dir = path.join(root, hashInputs(options.cwd, options.context));
  if (fs.existsSync(path.join(dir, 'manifest.json'))) {
    try {
      const cached = readAssembly(dir);
      const now = new Date();
      fs.utimesSync(dir, now, now);
      pruneCache(root, 8);
      return cached;
    } catch {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  fs.mkdirSync(root, { recursive: true });
  const tmp = path.join(root, `tmp-${randomBytes(6).toString('hex')}`);
  const removeTmp = () => fs.rmSync(tmp, { recursive: true, force: true });
  // process.exit() during the synthesis (e.g. a second Ctrl-C) runs 'exit' listeners, not finally blocks.
  process.once('exit', removeTmp);
  try {
    const synthesized = await synthesizeApp({ cwd: options.cwd, outdir: tmp, context: options.context });
    try {
      fs.renameSync(tmp, dir);
    } catch {
      // Another process cached the same inputs meanwhile; use its copy.
      removeTmp();
    }
    pruneCache(root, 8);
    return { ...synthesized, assemblyDir: dir };
  } catch (error) {
    removeTmp();
    throw error;
  } finally {
    process.off('exit', removeTmp);
  }
}

/**
 * Keeps the `keep` most recently used assemblies and removes `tmp-` folders older than an hour
 * (younger ones may belong to a synthesis running in another process). Never fails the caller:
 * another process may be pruning the same folder.
 */
export function pruneCache(root: string, keep: number, now = Date.now()): void {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return;
  }
  const entries: { name: string; mtime: number }[] = [];
  for (const name of names) {
    let mtime: number;
    try {
      mtime = fs.statSync(path.join(root, name)).mtimeMs;
    } catch {
      continue;
    }
    if (!name.startsWith('tmp-')) entries.push({ name, mtime });
    else if (now - mtime > STALE_TMP_MS) remove(path.join(root, name));
  }
  entries.sort((a, b) => b.mtime - a.mtime);
  for (const old of entries.slice(keep)) remove(path.join(root, old.name));
}

function remove(p: string): void {
  try {
    fs.rmSync(p, { recursive: true, force: true });
  } catch {
    // Removed by someone else meanwhile, or not removable now: the next prune tries again.
  }
}
