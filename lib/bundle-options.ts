import type { BuildOptions } from 'esbuild';

/**
 * How every function is bundled, in one place: lib/function.ts hands these to `NodejsFunction`,
 * and the benches and tests that time or inspect "the code that ships" build with the same
 * options through esbuild directly (`esbuildOptions`).
 */
export const FUNCTION_BUNDLE = {
  /** The Lambda runtime's Node.js major. */
  target: 'node24',
  /**
   * Left out because the Lambda runtime provides them: the AWS SDK v3 (as CDK's default for
   * Node.js 18+). Nothing else: the bundle test checks what a bundle requires.
   */
  external: ['@aws-sdk/*'],
  minify: true,
  /** Source maps without the sources' text (trimmed after bundling, scripts/trim-source-map.cjs). */
  sourcesContent: false,
} as const;

/** esbuild options equal to the functions' bundling, for `esbuild.build`. */
export function esbuildOptions(options: BuildOptions & { sdk?: 'external' | 'bundled' } = {}): BuildOptions {
  const { sdk = 'external', ...rest } = options;
  return {
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: FUNCTION_BUNDLE.target,
    minify: FUNCTION_BUNDLE.minify,
    sourcemap: 'external',
    sourcesContent: FUNCTION_BUNDLE.sourcesContent,
    external: sdk === 'external' ? [...FUNCTION_BUNDLE.external] : [],
    logLevel: 'warning',
    ...rest,
  };
}
