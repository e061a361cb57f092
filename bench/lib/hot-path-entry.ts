/**
 * What the hot-path bench loads from an esbuild bundle built like the functions' (minified, the
 * SDK left out): the delivery handler and the real adapters it is given, so that the bench times
 * the code that ships rather than TypeScript run through a loader.
 */
export { createDeliveryHandler } from '../../lambdas/delivery/app';
export { HttpSender } from '../../lambdas/adapters/http-sender';
export { observability } from '../../lambdas/adapters/observability';
export { breakerPolicyFromEnv, healthCacheTtlFromEnv, retryPolicyFromEnv } from '../../lambdas/adapters/env';
