/**
 * The producer side: PutEvents answers like AWS (per-entry errors, event ids), events that break
 * the producer contract (another source, an unknown detail type, a bad detail) are parked with
 * their reason while valid ones are delivered, and a rule
 * pattern the local runtime cannot match faithfully stops it at start-up.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { EVENT_NAMES } from '../../lambdas/core/catalog';
import type { CfnTemplate } from '../../local/template';
import { startLocalRuntime } from '../../local/runtime';
import { type Harness, Receiver, SOURCE, type StatusChangeInput, detailOf, drain, entryFor, expectedBody, putChanges, putEntries, pipelineSuite, subscribe, verify, waitFor } from './helpers';

jest.setTimeout(60_000);

let h: Harness;
const OPTIONS = { retrySchedule: [1, 1, 1, 1], maxAttempts: 3 } as const;

const { receivers } = pipelineSuite({ ...OPTIONS }, (harness) => (h = harness));

test('PutEvents reports per-entry errors as AWS does, in order, and accepts the valid entries', async () => {
  const bus = h.runtime.outputs.EventBusName;
  const detail = JSON.stringify({ tenantId: 'api-shop', oldStatus: 'a', newStatus: 'b', returnOrder: { uuid: 'u-1' } });
  const base = { EventBusName: bus, Source: SOURCE, DetailType: 'return_order.status.changed', Detail: detail };

  const out = await h.events.send(
    new PutEventsCommand({
      Entries: [
        base,
        { ...base, Source: undefined },
        { ...base, DetailType: undefined },
        { ...base, Detail: undefined },
        { ...base, Detail: '{"tenantId": ' },
        { ...base, Detail: '[1, 2]' },
        { ...base, EventBusName: 'no-such-bus' },
        { ...base, Source: 'aws.s3' },
        { ...base, EventBusName: h.runtime.outputs.EventBusArn },
      ],
    }),
  );

  expect(out.FailedEntryCount).toBe(7);
  const entries = out.Entries!;
  expect(entries).toHaveLength(9);
  expect(entries[0]!.EventId).toMatch(/^[0-9a-f-]{36}$/);
  expect(entries[1]).toEqual({ ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Source is not valid. Reason: Source is a required argument.' });
  expect(entries[2]).toEqual({ ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter DetailType is not valid. Reason: DetailType is a required argument.' });
  expect(entries[3]).toEqual({ ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Detail is not valid. Reason: Detail is a required argument.' });
  expect(entries[4]).toEqual({ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' });
  expect(entries[5]).toEqual({ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' });
  expect(entries[6]!.ErrorCode).toBe('InvalidArgument');
  expect(entries[6]!.ErrorMessage).toMatch(/no-such-bus/);
  expect(entries[7]!.ErrorCode).toBe('NotAuthorizedForSourceException');
  // The bus may be named by its ARN, as with AWS.
  expect(entries[8]!.EventId).toMatch(/^[0-9a-f-]{36}$/);

  // More than 10 entries is a whole-request validation error.
  await expect(h.events.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => base) }))).rejects.toMatchObject({ name: 'ValidationException' });
});

test('invalid events in a burst are parked in the fan-out DLQ with their reason while the valid ones are delivered', async () => {
  const tenantId = 'burst-with-bad-events';
  const r = await Receiver.start();
  receivers.push(r);
  await subscribe(h, { tenantId, url: r.url });
  await drain(h, h.runtime.outputs.FanOutDlqUrl!);

  const valid: StatusChangeInput[] = Array.from({ length: 30 }, (_, i) => ({
    event: EVENT_NAMES[i % EVENT_NAMES.length]!,
    tenantId,
    oldStatus: 'approved',
    newStatus: `status_${i}`,
    uuid: `d0000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  }));
  const badDetails: Array<[string, Record<string, unknown>, RegExp]> = [
    ['no uuid', { tenantId, oldStatus: 'a', newStatus: 'b', returnOrder: { number: '1' } }, /returnOrder\.uuid/],
    ['empty newStatus', { tenantId, oldStatus: 'a', newStatus: '', returnOrder: { uuid: 'x' } }, /newStatus/],
    ['no tenant', { oldStatus: 'a', newStatus: 'b', returnOrder: { uuid: 'x' } }, /tenantId/],
    ['entity under the wrong key', { tenantId, oldStatus: 'a', newStatus: 'b', salesOrder: { uuid: 'x' } }, /returnOrder/],
    ['number not a string', { tenantId, oldStatus: 'a', newStatus: 'b', returnOrder: { uuid: 'x', number: 42 } }, /returnOrder\.number/],
  ];
  const entries = [
    ...valid.map((c) => entryFor(h, c)),
    ...badDetails.map(([, detail]) => ({ EventBusName: h.runtime.outputs.EventBusName, Source: SOURCE, DetailType: 'return_order.status.changed', Detail: JSON.stringify(detail) })),
  ];
  // Interleave the bad ones with the good ones.
  const order = entries.map((e, i) => ({ e, key: (i * 7) % entries.length })).sort((a, b) => a.key - b.key);
  const results = await putEntries(h, order.map((o) => o.e));
  expect(results.every((r) => r.EventId)).toBe(true);
  const idOf = new Map(order.map((o, i) => [o.e, results[i]!.EventId!]));
  const badIds = new Map(badDetails.map(([name, , reason], i) => [idOf.get(entries[valid.length + i]!)!, { name, reason }]));

  const parked: Array<{ kind: string; reason: string; event: { id: string } }> = [];
  await waitFor(
    async () => {
      parked.push(...(await drain(h, h.runtime.outputs.FanOutDlqUrl!, 100)).map((m) => JSON.parse(m.Body!)));
      return parked.length >= badDetails.length && r.deliveredIds().size >= valid.length;
    },
    { timeoutMs: 20_000, describe: () => `parked ${parked.length}/${badDetails.length}, delivered ${r.deliveredIds().size}/${valid.length}\n${h.logs.slice(-8).join('\n')}` },
  );

  expect(parked).toHaveLength(badDetails.length);
  for (const record of parked) {
    expect(record.kind).toBe('rejected-event');
    const expected = badIds.get(record.event.id);
    expect(expected).toBeDefined();
    expect(record.reason).toMatch(expected!.reason);
  }
  expect(r.requests.map((q) => q.body).sort()).toEqual(valid.map(expectedBody).sort());
});

test('a status with characters above U+FFFF (an emoji) is delivered with the exact bytes, as on AWS', async () => {
  const tenantId = 'emoji-shop';
  const r = await Receiver.start();
  receivers.push(r);
  const sub = await subscribe(h, { tenantId, url: r.url });
  const change: StatusChangeInput = { event: 'return_order.status.changed', tenantId, oldStatus: 'packed', newStatus: 'shipped 📦', uuid: 'e0000000-0000-4000-8000-00000000f4e6' };

  await putChanges(h, [change]);

  const [request] = await waitFor(() => (r.requests.length > 0 ? r.requests : undefined), {
    timeoutMs: 20_000,
    describe: () => `no delivery of the emoji status\n${h.logs.slice(-8).join('\n')}`,
  });
  expect(Buffer.from(request!.body, 'utf8').equals(Buffer.from(expectedBody(change), 'utf8'))).toBe(true);
  expect(JSON.parse(request!.body).newStatus).toBe('shipped 📦');
  expect(() => verify(sub.secret, request!)).not.toThrow();
});

test('a valid event with a 10,000-deep extra field is delivered (the local Lambda runner carries any JSON EventBridge accepts)', async () => {
  const tenantId = 'deep-json-shop';
  const r = await Receiver.start();
  receivers.push(r);
  await subscribe(h, { tenantId, url: r.url });
  const change: StatusChangeInput = { event: 'sales_order.status.changed', tenantId, oldStatus: 'open', newStatus: 'paid', uuid: 'e0000000-0000-4000-8000-0000000deeb0' };
  // Built as text: JSON.stringify itself cannot write 10,000 levels.
  const deep = `${'['.repeat(10_000)}"bottom"${']'.repeat(10_000)}`;
  const detail = `${JSON.stringify(detailOf(change)).slice(0, -1)},"extra":${deep}}`;

  const [result] = await putEntries(h, [{ ...entryFor(h, change), Detail: detail }]);
  expect(result!.EventId).toBeDefined();

  const [request] = await waitFor(() => (r.requests.length > 0 ? r.requests : undefined), {
    timeoutMs: 20_000,
    describe: () => `the deep event was not delivered\n${h.logs.slice(-8).join('\n')}`,
  });
  // Only the contract's fields are forwarded; the extra field is ignored, not an error.
  expect(request!.body).toBe(expectedBody(change));
  expect(r.requests).toHaveLength(1);
});

test('an event of another source or an unknown detail type on the bus is parked with the reason, never delivered nor lost', async () => {
  const tenantId = 'unmatched-shop';
  const r = await Receiver.start();
  receivers.push(r);
  await subscribe(h, { tenantId, url: r.url });
  await drain(h, h.runtime.outputs.FanOutDlqUrl!);
  const detail = JSON.stringify({ tenantId, oldStatus: 'a', newStatus: 'b', returnOrder: { uuid: 'x' } });
  const bus = h.runtime.outputs.EventBusName;
  const results = await putEntries(h, [
    { EventBusName: bus, Source: 'return.cloud', DetailType: 'return_order.status.changed', Detail: detail },
    { EventBusName: bus, Source: SOURCE, DetailType: 'return_order.status_changed', Detail: detail },
    { EventBusName: bus, Source: 'someone.else', DetailType: 'order.created', Detail: detail },
    // The stack's own operational events share the bus: they are not a producer's mistake.
    { EventBusName: bus, Source: 'statushooks', DetailType: 'statushooks.endpoint.failing', Detail: JSON.stringify({ tenantId }) },
    { Source: SOURCE, DetailType: 'return_order.status.changed', Detail: detail }, // the default bus is not statushooks'
    // …but a status change under the stack's own source is.
    { EventBusName: bus, Source: 'statushooks', DetailType: 'return_order.status.changed', Detail: detail },
  ]);
  expect(results.every((x) => x.EventId)).toBe(true);
  const [wrongSource, typo, foreign, operational, defaultBus, ownSource] = results.map((x) => x.EventId!);

  const parked: Array<{ kind: string; reason: string; event: { id: string; source: string; 'detail-type': string } }> = [];
  await waitFor(
    async () => {
      parked.push(...(await drain(h, h.runtime.outputs.FanOutDlqUrl!, 100)).map((m) => JSON.parse(m.Body!)));
      return parked.length >= 4;
    },
    { timeoutMs: 20_000, describe: () => `parked ${parked.length}/4\n${h.logs.slice(-8).join('\n')}` },
  );
  // A valid event put afterwards is the barrier: once it is delivered, the others were handled.
  await putEntries(h, [{ EventBusName: bus, Source: SOURCE, DetailType: 'return_order.status.changed', Detail: detail }]);
  await waitFor(() => r.requests.length >= 1, { timeoutMs: 20_000, describe: () => 'the matching barrier event was not delivered' });
  parked.push(...(await drain(h, h.runtime.outputs.FanOutDlqUrl!, 100)).map((m) => JSON.parse(m.Body!)));

  const byId = new Map(parked.map((p) => [p.event.id, p]));
  expect([...byId.keys()].sort()).toEqual([wrongSource, typo, foreign, ownSource].sort());
  expect(byId.get(ownSource!)!.reason).toBe(`unknown source "statushooks" (did you mean "${SOURCE}"?); this stack accepts "${SOURCE}"`);
  expect(byId.has(operational!)).toBe(false);
  expect(byId.has(defaultBus!)).toBe(false);
  for (const p of parked) expect(p.kind).toBe('rejected-event');
  expect(byId.get(wrongSource!)!.reason).toBe(`unknown source "return.cloud" (did you mean "${SOURCE}"?); this stack accepts "${SOURCE}"`);
  expect(byId.get(typo!)!.reason).toMatch(/^unknown event type "return_order\.status_changed" \(did you mean "return_order\.status\.changed"\?\)/);
  // Both wrong: both are said, so one look tells the producer what to fix.
  expect(byId.get(foreign!)!.reason).toMatch(/^unknown source "someone\.else" .*; unknown event type "order\.created"/);
  // The parked event is the original, whole.
  expect(byId.get(typo!)!.event).toMatchObject({ source: SOURCE, 'detail-type': 'return_order.status_changed' });
  expect(r.requests).toHaveLength(1);
  expect(JSON.parse(r.requests[0]!.body)).toMatchObject({ event: 'return_order.status.changed' });
});

test('a rule pattern operator the local runtime does not implement is refused at start-up, by name', async () => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'statushooks-test-'));
  const stateFile = path.join(stateDir, 'dev.json');
  const withCidr = (template: CfnTemplate): CfnTemplate => {
    const copy = JSON.parse(JSON.stringify(template)) as CfnTemplate & { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    const rule = Object.values(copy.Resources).find((r) => r.Type === 'AWS::Events::Rule')!;
    rule.Properties.EventPattern = { ...(rule.Properties.EventPattern as object), detail: { sourceIp: [{ cidr: '10.0.0.0/24' }] } };
    return copy;
  };

  await expect(startLocalRuntime({ ...OPTIONS, stateFile, log: () => undefined, transformTemplate: withCidr })).rejects.toThrow(/operator "cidr" is not supported/);
  expect(fs.existsSync(stateFile)).toBe(false);
  fs.rmSync(stateDir, { recursive: true, force: true });
});
