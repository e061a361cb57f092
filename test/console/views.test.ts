/**
 * What the console's delivery tables say about the log's mode: with `deliveryLog` = `failures`
 * an empty or short list must not read as "nothing was delivered".
 */
import { deliveryTable, deliveryRows } from '../../cli/console/views';
import type { DeliveryRecord } from '../../lambdas/core/delivery-log';

const text = (html: unknown) => String(html).replace(/<[^>]+>/g, '');

describe('delivery tables and the delivery-log mode', () => {
  it('with every delivery recorded, an empty table says there are no deliveries, without a caption', () => {
    const table = text(deliveryTable([], '/live/deliveries?tenant=t', false));
    expect(table).toContain('no deliveries yet');
    expect(table).not.toContain('failed deliveries only');
  });

  it('with failures only, the table says first-attempt successes are not listed, and an empty one says no failed deliveries', () => {
    const table = text(deliveryTable([], '/live/deliveries?tenant=t', true, true));
    expect(table).toContain('This stack records failed deliveries only (deliveryLog = failures): a delivery that succeeded at its first attempt is counted in the metrics and not listed here.');
    expect(table).toContain('no failed deliveries yet');
    // The live list (rows only) keeps the same wording when it refreshes.
    expect(text(deliveryRows([], true, true))).toBe('no failed deliveries yet');
    expect(text(deliveryRows([] as DeliveryRecord[], true))).toBe('no deliveries yet');
  });
});
