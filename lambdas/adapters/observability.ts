import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import { DEFAULTS } from '../core/config';
import type { Log, LogFields, Metrics } from '../core/ports';

/** Powertools logger (JSON lines) and metrics (EMF) behind the core's small ports. */
export function observability(serviceName: string): { logger: Logger; log: Log; powertoolsMetrics: PowertoolsMetrics; metrics: Metrics } {
  const logger = new Logger({ serviceName });
  const powertoolsMetrics = new PowertoolsMetrics({ serviceName, namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? DEFAULTS.metricsNamespace });
  const log: Log = {
    info: (message: string, fields?: LogFields) => logger.info(message, fields ?? {}),
    warn: (message: string, fields?: LogFields) => logger.warn(message, fields ?? {}),
    error: (message: string, fields?: LogFields) => logger.error(message, fields ?? {}),
  };
  const metrics: Metrics = {
    count: (name, value = 1) => powertoolsMetrics.addMetric(name, MetricUnit.Count, value),
    milliseconds: (name, value) => powertoolsMetrics.addMetric(name, MetricUnit.Milliseconds, value),
  };
  return { logger, log, powertoolsMetrics, metrics };
}
