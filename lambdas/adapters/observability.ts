import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import { DEFAULTS } from '../core/config';
import type { Log, LogFields, Metrics } from '../core/ports';

/** The dimension of the per-tenant failure metrics. */
export const TENANT_DIMENSION = 'TenantId';
/** CloudWatch's limit for a dimension value. */
const MAX_DIMENSION_VALUE_CHARS = 1024;
const DEBUG_THRESHOLD = 8;

/** Powertools logger (JSON lines) and metrics (EMF) behind the core's small ports. */
export function observability(serviceName: string): { logger: Logger; log: Log; powertoolsMetrics: PowertoolsMetrics; metrics: Metrics } {
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
  const metrics: Metrics = {
    count: (name, value = 1) => powertoolsMetrics.addMetric(name, MetricUnit.Count, value),
    milliseconds: (name, value) => powertoolsMetrics.addMetric(name, MetricUnit.Milliseconds, value),
    // Its own EMF record (a single metric carries its own dimensions and is written at once), so
    // the function's other metrics keep their one dimension set.
    countForTenant: (name, tenantId, value = 1) => {
      const single = powertoolsMetrics.singleMetric();
      single.addDimension(TENANT_DIMENSION, tenantId.slice(0, MAX_DIMENSION_VALUE_CHARS));
      single.addMetric(name, MetricUnit.Count, value);
    },
  };
  return { logger, log, powertoolsMetrics, metrics };
}
