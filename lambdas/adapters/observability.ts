import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import { DEFAULTS } from '../core/config';
import type { Log, LogFields, Metrics } from '../core/ports';

/** The dimension of the per-tenant failure metrics. */
export const TENANT_DIMENSION = 'TenantId';
/** CloudWatch's limit for a dimension value. */
const MAX_DIMENSION_VALUE_CHARS = 1024;
const DEBUG_THRESHOLD = 8;

export interface Observability {
  readonly logger: Logger;
  readonly log: Log;
  readonly metrics: Metrics;
  /**
   * Ends an invocation's metrics: hands the counts summed since the last call to Powertools and
   * writes the stored metrics as one EMF record, if there are any (nothing counted: nothing
   * written, and no Powertools warning). Call it once per invocation, in a `finally`.
   */
  publish(): void;
}

/**
 * Powertools logger (JSON lines) and metrics (EMF) behind the core's small ports.
 *
 * Counts are summed in a plain map and given to Powertools once per name by `publish()`: each
 * `addMetric` costs microseconds (unit validation, its invocation-scoped store, copies), and the
 * delivery function counts once per delivery. The EMF record holds the same names, units and
 * sums as one `addMetric` per count would have written (one value per name instead of an array
 * of 1s, so CloudWatch's Sum is the same; SampleCount is 1 per invocation and name). The sums are
 * per instance, not per invocation: right for Lambda's one invocation at a time per execution
 * environment (with Lambda Managed Instances' concurrent invocations a count could be written in
 * a concurrent invocation's record; none is lost). Milliseconds stay one `addMetric` per value
 * (CloudWatch's percentiles need each value; buffering them to add at publish time measured no
 * cheaper, the same calls made later).
 */
export function observability(serviceName: string): Observability {
  const logger = new Logger({ serviceName });
  const powertoolsMetrics = new PowertoolsMetrics({ serviceName, namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? DEFAULTS.metricsNamespace });
  const log: Log = {
    debug: (message, fields) => {
      // Powertools' thresholds: TRACE 6, DEBUG 8, INFO 12 … (the level can change at run time).
      if (logger.level > DEBUG_THRESHOLD) return;
      logger.debug(message, (typeof fields === 'function' ? fields() : fields) ?? {});
    },
    info: (message: string, fields?: LogFields) => logger.info(message, fields ?? {}),
    warn: (message: string, fields?: LogFields) => logger.warn(message, fields ?? {}),
    error: (message: string, fields?: LogFields) => logger.error(message, fields ?? {}),
  };
  const counts = new Map<string, number>();
  const metrics: Metrics = {
    count: (name, value = 1) => void counts.set(name, (counts.get(name) ?? 0) + value),
    milliseconds: (name, value) => powertoolsMetrics.addMetric(name, MetricUnit.Milliseconds, value),
    // Its own EMF record (a single metric carries its own dimensions and is written at once), so
    // the function's other metrics keep their one dimension set.
    countForTenant: (name, tenantId, value = 1) => {
      const single = powertoolsMetrics.singleMetric();
      single.addDimension(TENANT_DIMENSION, tenantId.slice(0, MAX_DIMENSION_VALUE_CHARS));
      single.addMetric(name, MetricUnit.Count, value);
    },
  };
  const publish = () => {
    try {
      // A count of 0 is published too, as an addMetric of 0 was.
      for (const [name, sum] of counts) powertoolsMetrics.addMetric(name, MetricUnit.Count, sum);
    } finally {
      // Even if Powertools threw: this invocation's counts do not move to the next one, and what
      // is stored is still written.
      counts.clear();
      if (powertoolsMetrics.hasStoredMetrics()) powertoolsMetrics.publishStoredMetrics();
    }
  };
  return { logger, log, metrics, publish };
}
