import path from 'node:path';
import { build } from 'esbuild';

export interface HostScripts {
  readonly emulatorHost: string;
  readonly lambdaHost: string;
}

/**
 * Compiles the worker-thread entry points (TypeScript in this folder) to CommonJS files in
 * `outdir`. Worker threads run outside jest's and tsx's module loaders, so they need plain
 * JavaScript; the local esbuild makes it in milliseconds.
 */
export async function buildHostScripts(outdir: string): Promise<HostScripts> {
  const entries = { 'emulator-host': path.join(__dirname, 'emulator-host.ts'), 'lambda-host': path.join(__dirname, 'lambda-host.ts') };
  await build({
    entryPoints: entries,
    outdir,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  return { emulatorHost: path.join(outdir, 'emulator-host.cjs'), lambdaHost: path.join(outdir, 'lambda-host.cjs') };
}
