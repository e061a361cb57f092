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

/** Hash of what the functions' bundles and the app's code are made of (not the context). */
function hashCode(cwd: string): string {
  const hash = createHash('sha256');
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

function hashInputs(codeHash: string, context: Record<string, unknown>): string {
  const hash = createHash('sha256');
  hash.update(codeHash);
  hash.update(JSON.stringify(Object.entries(context).sort(([a], [b]) => a.localeCompare(b))));
  return hash.digest('hex').slice(0, 24);
}

/** Written into each cached assembly: the code hash its bundles were built from. */
const CODE_HASH_FILE = 'statushooks-code-hash';

/** A `tmp-` folder older than this is left over from a synthesis that was killed: pruned. */
const STALE_TMP_MS = 3_600_000;

/**
 * Synthesizes once per distinct input: the assembly is kept under
 * `node_modules/.cache/statushooks/synth/<hash of context, lib/, lambdas/, package files>`, so a
 * restart (or the next integration test file) skips the CDK synthesis and the bundling. Another
 * context with the same code reuses the bundles of a cached assembly (synthesizeWithBundlesOf).
 * A synthesis writes into a `tmp-<hex>` folder first and renames it when complete; the folder is
 * removed when the synthesis fails or the process exits meanwhile, and by later runs once it is
 * older than an hour (a killed process cannot remove it).
 */
export async function synthesizeCached(options: { cwd: string; context: Record<string, unknown>; cacheDir?: string }): Promise<SynthesizedStack> {
  const root = options.cacheDir ?? path.join(options.cwd, 'node_modules', '.cache', 'statushooks', 'synth');
  const codeHash = hashCode(options.cwd);
  const dir = path.join(root, hashInputs(codeHash, options.context));
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
    // The same code under another context (another stage, other settings) has the same bundles:
    // take them from that assembly instead of bundling again (most of a synthesis's time).
    const sibling = assemblyOfCode(root, codeHash);
    const reused = sibling === undefined ? undefined : await synthesizeWithBundlesOf(sibling, { cwd: options.cwd, context: options.context, outdir: tmp });
    const synthesized = reused ?? (await synthesizeApp({ cwd: options.cwd, outdir: tmp, context: options.context }));
    fs.writeFileSync(path.join(tmp, CODE_HASH_FILE), codeHash);
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

/** The most recently used cached assembly built from `codeHash`, if any. */
function assemblyOfCode(root: string, codeHash: string): string | undefined {
  let best: { dir: string; mtime: number } | undefined;
  for (const name of safeReaddir(root)) {
    if (name.startsWith('tmp-')) continue;
    const dir = path.join(root, name);
    try {
      if (fs.readFileSync(path.join(dir, CODE_HASH_FILE), 'utf8') !== codeHash) continue;
      const mtime = fs.statSync(dir).mtimeMs;
      if (!best || mtime > best.mtime) best = { dir, mtime };
    } catch {
      // No marker (an older cache entry) or pruned meanwhile.
    }
  }
  return best?.dir;
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

type TemplateResource = { Type?: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> };

/**
 * Synthesizes without bundling (CDK's `aws:cdk:bundling-stacks` = none, as `cdk deploy
 * --exclusively` does for other stacks) and gives each bundled function the bundle of the same
 * function (by logical id) in `siblingDir`, an assembly of the same code: its asset folder is
 * copied and the template's asset path and code key point at it, exactly as a full synthesis
 * would have written them. Undefined (nothing kept) when a function has no counterpart there.
 */
async function synthesizeWithBundlesOf(siblingDir: string, options: { cwd: string; outdir: string; context: Record<string, unknown> }): Promise<SynthesizedStack | undefined> {
  let sibling: SynthesizedStack;
  try {
    sibling = readAssembly(siblingDir);
  } catch {
    return undefined;
  }
  const synthesized = await synthesizeApp({ ...options, context: { ...options.context, 'aws:cdk:bundling-stacks': [] } });
  const theirs = sibling.template.Resources as Record<string, TemplateResource>;
  const ours = synthesized.template.Resources as Record<string, TemplateResource>;
  for (const [id, resource] of Object.entries(ours)) {
    // Skipped bundling still marks the asset bundled, with the source folder as its path; assets
    // that are not bundled were staged as usual.
    if (resource.Metadata?.['aws:asset:is-bundled'] !== true) continue;
    const counterpart = theirs[id];
    const assetPath = counterpart?.Metadata?.['aws:asset:path'];
    const property = counterpart?.Metadata?.['aws:asset:property'];
    if (counterpart === undefined || counterpart.Type !== resource.Type || counterpart.Metadata?.['aws:asset:is-bundled'] !== true) return discard(options.outdir);
    if (typeof assetPath !== 'string' || path.isAbsolute(assetPath) || typeof property !== 'string') return discard(options.outdir);
    const from = path.join(siblingDir, assetPath);
    if (!fs.existsSync(from)) return discard(options.outdir);
    const to = path.join(options.outdir, assetPath);
    if (!fs.existsSync(to)) fs.cpSync(from, to, { recursive: true });
    resource.Metadata = { ...resource.Metadata, 'aws:asset:path': assetPath, 'aws:asset:is-bundled': true };
    resource.Properties = { ...resource.Properties, [property]: counterpart.Properties?.[property] };
  }
  const templateFile = templateFileOf(options.outdir);
  fs.writeFileSync(templateFile, JSON.stringify(synthesized.template, null, 1));
  return synthesized;
}

/** Empties a synthesis folder that will not be used, so the full synthesis starts clean. */
function discard(outdir: string): undefined {
  fs.rmSync(outdir, { recursive: true, force: true });
  return undefined;
}

/** The template file of the assembly's one stack (the app synthesizes one). */
function templateFileOf(assemblyDir: string): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(assemblyDir, 'manifest.json'), 'utf8')) as AssemblyManifest;
  const stacks = Object.entries(manifest.artifacts ?? {}).filter(([, a]) => a.type === 'aws:cloudformation:stack');
  if (stacks.length !== 1) throw new Error(`the cloud assembly in ${assemblyDir} has ${stacks.length} stacks; expected one`);
  const [id, artifact] = stacks[0]!;
  return path.join(assemblyDir, artifact.properties?.templateFile ?? `${id}.template.json`);
}
