#!/usr/bin/env node
'use strict';
/**
 * Runs the functions' tests on the Node.js the deployed functions run on (Lambda's nodejs24.x),
 * while the rest of the tooling stays on this machine's Node.js 20. Node's behaviour differs
 * between majors in ways the functions show to users: Node.js 24 appends advice about its own
 * trust store to some certificate errors, which the delivery log must not repeat (tls.test.ts).
 *
 * The binary comes from the npm registry (`node-<platform>-<arch>`, the version in package.json
 * `config.lambdaNode`), cached in node_modules/.cache/lambda-node; only this step uses the
 * network. Extra arguments go to jest (`npm run test:lambda-node -- --json --outputFile=x.json`).
 */
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const version = require('../package.json').config.lambdaNode;

/**
 * What runs there: the functions' logic and adapters, and the real bundles through the local
 * runtime (every event, the HTTP sender, TLS, the delivery log's records with their response
 * snippets, bodies with unusual characters and sizes). About 25 s on 2 cores; the other
 * integration suites (retries, isolation, breaker, replay) are mostly waiting on timers, exercise
 * the same code paths and stay on Node 20, which keeps CI within its time budget.
 */
const SUITES = [
  'test/unit',
  'test/integration/delivery.test.ts',
  'test/integration/events.test.ts',
  'test/integration/tls.test.ts',
  'test/integration/delivery-log.test.ts',
  'test/integration/characters.test.ts',
];

function lambdaNode() {
  const pkg = `node-${process.platform}-${process.arch}`;
  const dir = path.join(root, 'node_modules', '.cache', 'lambda-node', `${pkg}-${version}`);
  const bin = path.join(dir, 'node');
  if (fs.existsSync(bin)) return bin;
  fs.mkdirSync(dir, { recursive: true });
  process.stderr.write(`fetching Node.js ${version} (${pkg}) from the npm registry…\n`);
  try {
    const name = execFileSync('npm', ['pack', `${pkg}@${version}`, '--pack-destination', dir, '--silent'], { cwd: dir, encoding: 'utf8' }).trim().split('\n').pop();
    const tarball = path.join(dir, name);
    execFileSync('tar', ['-xzf', tarball, '-C', dir, '--strip-components=2', 'package/bin/node']);
    fs.rmSync(tarball);
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot fetch Node.js ${version} as ${pkg} from the npm registry: ${error.message}`);
  }
  return bin;
}

let bin;
try {
  bin = lambdaNode();
} catch (error) {
  process.stderr.write(`error: ${error.message}\n`);
  process.exit(1);
}
const run = spawnSync(bin, [path.join(root, 'node_modules', 'jest', 'bin', 'jest.js'), '--ci', ...SUITES, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
process.exit(run.status ?? 1);
