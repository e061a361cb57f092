/**
 * Characters SQS refuses (U+FFFE, U+FFFF, lone surrogates) through the whole local runtime, whose
 * SQS applies AWS's character rule: an event holding them is never retried forever, it ends parked
 * in the fan-out DLQ, and the parked record parses back to exactly what the producer sent.
 */
import { type Harness, Receiver, SOURCE, drain, putEntries, pipelineSuite, subscribe, waitFor } from './helpers';

jest.setTimeout(60_000);

let h: Harness;

const { receivers } = pipelineSuite({ retrySchedule: [1, 1, 1, 1], maxAttempts: 3 }, (harness) => (h = harness));

interface ParkedRecord {
  kind: string;
  reason: string;
  event: { id: string; detail: Record<string, unknown> };
}

async function parkedWith(eventIds: readonly string[]): Promise<Map<string, ParkedRecord>> {
  const found = new Map<string, ParkedRecord>();
  await waitFor(
    async () => {
      for (const m of await drain(h, h.runtime.outputs.FanOutDlqUrl!, 100)) {
        const record = JSON.parse(m.Body!) as ParkedRecord;
        found.set(record.event.id, record);
      }
      return eventIds.every((id) => found.has(id));
    },
    { timeoutMs: 20_000, describe: () => `parked ${[...found.keys()].join(', ') || 'nothing'}; wanted ${eventIds.join(', ')}\n${h.logs.slice(-8).join('\n')}` },
  );
  return found;
}

test('an invalid event with U+FFFE, U+FFFF and a lone surrogate in an ignored field is parked, and its record parses back to the exact detail', async () => {
  const tenantId = 'fffe-shop';
  const r = await Receiver.start();
  receivers.push(r);
  await subscribe(h, { tenantId, url: r.url });
  // Invalid: no newStatus. The extra field holds what SQS cannot carry raw.
  const detail = { tenantId, oldStatus: 'open', salesOrder: { uuid: 'u-1' }, note: 'before\uFFFEafter', more: ['\uFFFF', { lone: 'x\uD800y' }] };

  const [result] = await putEntries(h, [{ EventBusName: h.runtime.outputs.EventBusName, Source: SOURCE, DetailType: 'sales_order.status.changed', Detail: JSON.stringify(detail) }]);
  expect(result!.EventId).toBeDefined();

  const record = (await parkedWith([result!.EventId!])).get(result!.EventId!)!;
  expect(record.kind).toBe('rejected-event');
  expect(record.reason).toMatch(/detail\.newStatus/);
  expect(record.event.detail).toEqual(detail);
  expect(record.event.detail.note).toBe('before\uFFFEafter');
  expect(r.requests).toHaveLength(0);
});

test('a valid event with U+FFFF in newStatus is refused with a reason naming the field and the code point, and parked', async () => {
  const tenantId = 'ffff-shop';
  const r = await Receiver.start();
  receivers.push(r);
  await subscribe(h, { tenantId, url: r.url });
  const detail = { tenantId, oldStatus: 'open', newStatus: 'ship\uFFFFped', salesOrder: { uuid: 'u-2' } };

  const [result] = await putEntries(h, [{ EventBusName: h.runtime.outputs.EventBusName, Source: SOURCE, DetailType: 'sales_order.status.changed', Detail: JSON.stringify(detail) }]);

  const record = (await parkedWith([result!.EventId!])).get(result!.EventId!)!;
  expect(record.reason).toContain('detail.newStatus: contains U+FFFF, a character webhooks cannot carry');
  expect(record.event.detail).toEqual(detail);
  expect(r.requests).toHaveLength(0);
});
