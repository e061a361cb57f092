import { observability, TENANT_DIMENSION } from '../../lambdas/adapters/observability';
import { METRIC } from '../../lambdas/core/ports';

/** EMF records the adapter writes (Powertools prints each as one JSON line on stdout). */
function captureEmf(run: () => void): Record<string, unknown>[] {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => (lines.push(String(chunk)), true));
  try {
    run();
  } finally {
    spy.mockRestore();
  }
  return lines
    .flatMap((l) => l.split('\n'))
    .filter((l) => l.includes('"_aws"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const dimensionsOf = (record: Record<string, unknown>) =>
  ((record._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] }).CloudWatchMetrics[0]!.Dimensions[0] ?? []).slice().sort();

describe('observability metrics', () => {
  it('counts a failure per tenant in its own record with a TenantId dimension, apart from the stack-wide count', () => {
    const records = captureEmf(() => {
      const { metrics, publish } = observability('statushooks-test');
      metrics.count(METRIC.deliveriesFailed);
      metrics.countForTenant(METRIC.deliveriesFailed, 'acme-shop');
      metrics.countForTenant(METRIC.deliveriesFailed, 'globex', 2);
      publish();
    });
    const perTenant = records.filter((r) => r[TENANT_DIMENSION] !== undefined);
    expect(perTenant.map((r) => [r[TENANT_DIMENSION], r.DeliveriesFailed])).toEqual([
      ['acme-shop', 1],
      ['globex', 2],
    ]);
    for (const r of perTenant) expect(dimensionsOf(r)).toEqual(['TenantId', 'service']);
    // The stack-wide count (what the alarms watch) keeps its single dimension.
    const overall = records.filter((r) => r[TENANT_DIMENSION] === undefined);
    expect(overall.map((r) => r.DeliveriesFailed)).toEqual([1]);
    expect(dimensionsOf(overall[0]!)).toEqual(['service']);
  });
});
