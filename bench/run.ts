/**
 * `npm run bench`: runs every bench and prints one table per bench. Every figure that matters is
 * a ratio against a baseline measured in the same run; absolute numbers depend on the machine.
 *
 * `npm run bench -- --isolation` adds the isolation bench (bench/isolation.ts, ~2.5 min; alone:
 * `npm run bench:isolation`).
 *
 * The memory bench needs `global.gc`: without it this script re-runs itself once with
 * `--expose-gc` added to the same node flags (tsx's loader included).
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { benchColdStart } from './cold-start';
import { benchFanOut } from './fan-out';
import { benchHotPath } from './hot-path';
import { benchHttpDelivery } from './http-delivery';
import { spawnIsolationBench } from './isolation';
import { renderSection, type Section } from './lib/timing';
import { benchMemory } from './memory';
import { benchSigning } from './signing';

const RESPAWNED = 'STATUSHOOKS_BENCH_RESPAWNED';

function respawnWithGc(): number | undefined {
  if (typeof globalThis.gc === 'function' || process.env[RESPAWNED]) return undefined;
  const child = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [RESPAWNED]: '1' },
  });
  if (child.error) {
    console.error(`could not re-run with --expose-gc (${child.error.message}); running without it`);
    return undefined;
  }
  return child.status ?? 1;
}

async function main(): Promise<void> {
  const started = performance.now();
  const cpus = os.cpus();
  console.log('statushooks benchmarks — ratios against baselines measured in this run');
  console.log(`node ${process.version} (V8 ${process.versions.v8}) on ${process.platform}/${process.arch}`);
  console.log(`cpu: ${cpus[0]?.model.trim() ?? 'unknown'} — ${os.availableParallelism()} available core(s); gc exposed: ${typeof globalThis.gc === 'function' ? 'yes' : 'no'}`);
  console.log('timing: 1 warm-up round, then 5 interleaved rounds per case, median reported\n');

  const benches: [string, () => Promise<Section>][] = [
    ['hot path', () => benchHotPath()],
    // The same against an endpoint that answers in 20 ms: throughput bound by the endpoint, not by this process.
    ['hot path, 20 ms endpoint', () => benchHotPath({ latencyMs: 20, rounds: 5 })],
    ['http', benchHttpDelivery],
    ['fan-out', benchFanOut],
    ['signing', benchSigning],
    ['memory', () => benchMemory(globalThis.gc ? () => globalThis.gc!() : undefined)],
    ['cold start', () => benchColdStart()],
  ];
  for (const [name, bench] of benches) {
    const t = performance.now();
    const section = await bench();
    console.log(renderSection(section));
    console.log(`  (${name}: ${((performance.now() - t) / 1000).toFixed(1)} s)\n`);
  }
  // Opt-in (about 2.5 minutes): the whole local runtime under load, in its own process.
  if (process.argv.includes('--isolation')) {
    const t = performance.now();
    console.log('7. Isolation — see `npm run bench:isolation -- --help` for its options\n');
    const status = spawnIsolationBench([]);
    if (status !== 0) process.exitCode = status;
    console.log(`  (isolation: ${((performance.now() - t) / 1000).toFixed(1)} s)\n`);
  }
  console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

const status = respawnWithGc();
if (status !== undefined) {
  process.exitCode = status;
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
