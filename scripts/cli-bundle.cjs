'use strict';
/**
 * The CLI's start-up bundle. Run through tsx, a command spends about half its time loading: tsx
 * itself, then each TypeScript module compiled from tsx's cache and a few hundred small files of
 * the AWS SDK, zod and commander. The same modules bundled into one file by esbuild start in about
 * half the time (docs/cli.md, "Start-up").
 *
 * The bundle is built on first use into node_modules/.cache/statushooks-cli (or
 * $STATUSHOOKS_CLI_CACHE) and its first line records the size and modification time of every
 * source file it was built from, of package.json, tsconfig.json and this file, and of npm's
 * record of the installed packages (node_modules/.package-lock.json, rewritten by every install).
 * A later run uses it only if all of them are unchanged; otherwise it builds it again. A bundle is
 * written under a temporary name and renamed, so concurrent runs never read half of one.
 *
 * `dev` and `console` always run from source: the local runtime and the console find their
 * helper scripts and static files next to their own modules. So does everything when
 * STATUSHOOKS_CLI_FROM_SOURCE=1, or when the bundle cannot be built or written.
 */
const { Buffer } = require('node:buffer');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const NODE_MAJOR = process.versions.node.split('.')[0];
const ENTRY = 'bin/statushooks.ts';
const MARK = '// statushooks-cli-bundle ';
/** The manifest line's limit (about 60 B per file): a longer one is not read, so never trusted. */
const MANIFEST_MAX = 256 * 1024;
/** What the bundle depends on besides the source files esbuild reports. */
const ALSO_TRACKED = ['package.json', 'tsconfig.json', 'scripts/cli-bundle.cjs', 'node_modules/.package-lock.json'];
/** Commands that run from source, and the modules only they load (left out of the bundle). */
const FROM_SOURCE_COMMANDS = new Set(['dev', 'console']);
const SOURCE_ONLY_MODULES = ['local/dev', 'cli/console/server'];
/** Packages the bundle must not contain: the local runtime's and the CDK's, loaded only by `dev`. */
const EXTERNAL = ['esbuild', 'aws-cdk-lib', 'constructs', 'dynalite', 'fauxqs', 'tsx'];

function cacheFile(env) {
  return path.join(env.STATUSHOOKS_CLI_CACHE || path.join(ROOT, 'node_modules', '.cache', 'statushooks-cli'), 'cli.js');
}

/** A file's size and modification time, or "missing". */
function stamp(relative) {
  try {
    const s = fs.statSync(path.join(ROOT, relative));
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/** The manifest on the bundle's first line, or undefined when there is no readable one. */
function readManifest(file) {
  let fd;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const buffer = Buffer.alloc(MANIFEST_MAX);
    const text = buffer.toString('utf8', 0, fs.readSync(fd, buffer, 0, buffer.length, 0));
    const end = text.indexOf('\n');
    if (!text.startsWith(MARK) || end < 0) return undefined;
    const manifest = JSON.parse(text.slice(MARK.length, end));
    return manifest && typeof manifest.inputs === 'object' && manifest.inputs !== null ? manifest : undefined;
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether the bundle was built from exactly the files there are now, by this Node.js major. */
function isFresh(manifest) {
  if (manifest === undefined || manifest.node !== NODE_MAJOR) return false;
  const inputs = Object.entries(manifest.inputs);
  return inputs.length > ALSO_TRACKED.length && inputs.every(([file, recorded]) => stamp(file) === recorded);
}

/** esbuild plugin: the modules only `dev` and `console` load become a module that says so. */
const sourceOnly = {
  name: 'statushooks-source-only',
  setup(build) {
    const only = new Set(SOURCE_ONLY_MODULES.map((m) => path.join(ROOT, m)));
    build.onResolve({ filter: /^\./ }, (args) => {
      const target = path.resolve(args.resolveDir, args.path);
      return only.has(target) ? { path: path.relative(ROOT, target), namespace: 'source-only' } : undefined;
    });
    build.onLoad({ filter: /.*/, namespace: 'source-only' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} runs from source (bin/statushooks.js starts its commands without the bundle)`)});`,
      loader: 'js',
    }));
  },
};

/** Writes `file` whole or not at all: concurrent runs never read half of one. */
function replace(file, text) {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, text);
  fs.renameSync(temporary, file);
}

/** Builds the bundle and writes it to `file`; resolves to `file`. */
async function build(file) {
  const esbuild = require('esbuild');
  const started = Date.now();
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    target: `node${NODE_MAJOR}`,
    format: 'cjs',
    write: false,
    metafile: true,
    // For STATUSHOOKS_DEBUG=1's stack traces (cli.js.map beside the bundle; Node reads it only then).
    sourcemap: 'linked',
    sourcesContent: false,
    outfile: file,
    logLevel: 'silent',
    external: EXTERNAL,
    plugins: [sourceOnly],
  });
  // The checkout's own files; installed packages (also those reached through a symlinked
  // node_modules, reported outside the checkout) are covered by npm's lockfile.
  const sources = Object.keys(result.metafile.inputs).filter((input) => !input.startsWith('node_modules/') && !input.startsWith('../') && !path.isAbsolute(input) && !input.includes(':'));
  const inputs = {};
  let changedDuringBuild = false;
  const finished = Date.now();
  for (const input of [...sources, ...ALSO_TRACKED]) {
    inputs[input] = stamp(input);
    const mtime = Number(inputs[input].split(':')[1]);
    if (mtime >= started && mtime <= finished) changedDuringBuild = true;
  }
  // A file saved while esbuild read it would be recorded as built: mark such a bundle stale (used
  // this once, built again next time). A modification time in the future (a skewed clock) is not
  // taken for one.
  const manifest = { node: changedDuringBuild ? 'stale' : NODE_MAJOR, inputs };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const output = (suffix) => result.outputFiles.find((f) => f.path.endsWith(suffix)).text;
  // The map first: a bundle is never in place before its map. The manifest line shifts the code
  // one line down, so the map starts with one more empty line.
  const map = JSON.parse(output('.js.map'));
  map.mappings = `;${map.mappings}`;
  replace(`${file}.map`, JSON.stringify(map));
  replace(file, `${MARK}${JSON.stringify(manifest)}\n${output('.js')}`);
  return file;
}

/**
 * Starts the CLI for `args` (process.argv without node and the script): from the bundle when it
 * is fresh or can be built, else through `fromSource`.
 */
function start(args, fromSource) {
  const env = process.env;
  const command = args.find((a) => !a.startsWith('-'));
  if (env.STATUSHOOKS_CLI_FROM_SOURCE === '1' || FROM_SOURCE_COMMANDS.has(command)) return fromSource();
  const file = cacheFile(env);
  // The stack traces STATUSHOOKS_DEBUG=1 prints name the TypeScript sources, not the bundle.
  if (env.STATUSHOOKS_DEBUG) process.setSourceMapsEnabled(true);
  if (isFresh(readManifest(file))) return require(file);
  build(file)
    .then((built) => require(built))
    .catch(() => fromSource());
}

module.exports = { start };
