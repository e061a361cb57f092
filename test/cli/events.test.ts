import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { sourceWarning } from '../../cli/commands/events';
import { cli, json, putEventsReceived, type Fixture, useFixture } from './helpers';

jest.setTimeout(60_000);

let f: Fixture;
useFixture((started) => (f = started));

test('events example prints a detail that events send --file accepts and puts on the bus', async () => {
  // Prepare
  const example = await cli(['events', 'example', 'sales_order_parcel.status.changed', '--tenant', 'globex']);
  expect(example.code).toBe(0);
  const detail = json(example);
  expect(detail).toEqual({
    tenantId: 'globex',
    oldStatus: 'approved',
    newStatus: 'option_selected',
    salesOrderParcel: { number: '100004', uuid: '90aabf83-d23c-4792-b483-2546b8041379', externalId: null },
  });
  const file = path.join(f.dir, 'detail.json');
  writeFileSync(file, example.stdout);

  // Act
  const sent = await cli(['events', 'send', '--type', 'sales_order_parcel.status.changed', '--file', file, ...f.local]);

  // Assess: stdout is the event id the bus gave.
  expect(sent).toMatchObject({ code: 0, stderr: '' });
  const put = await putEventsReceived(f);
  expect(put).toHaveLength(1);
  expect(sent.stdout).toBe(`${put[0]!.EventId}\n`);
  expect(put[0]).toMatchObject({ EventBusName: f.state.EventBusName, Source: 'returns.cloud', DetailType: 'sales_order_parcel.status.changed' });
  expect(JSON.parse(put[0]!.Detail)).toEqual(detail);
});

test('events send with field options validates, sends the contract detail and reports it as JSON', async () => {
  const r = await cli([
    'events', 'send', '--type', 'return_order.status.changed', '--tenant', 'acme-shop', '--old', 'approved', '--new', 'option_selected',
    '--uuid', 'b6a1c2d3-0000-4000-8000-000000000001', '--number', '100004', '--json', ...f.local,
  ]);
  expect(r.code).toBe(0);
  const out = json<{ eventId: string; eventBusName: string; detailType: string; source: string }>(r);
  const put = (await putEventsReceived(f)).find((e) => e.EventId === out.eventId);
  expect(out).toMatchObject({ eventBusName: f.state.EventBusName, detailType: 'return_order.status.changed', source: 'returns.cloud' });
  expect(JSON.parse(put!.Detail)).toEqual({
    tenantId: 'acme-shop',
    oldStatus: 'approved',
    newStatus: 'option_selected',
    returnOrder: { number: '100004', uuid: 'b6a1c2d3-0000-4000-8000-000000000001', externalId: null },
  });
});

test('an invalid event is refused before anything is sent; a per-entry PutEvents error exits 1', async () => {
  // Prepare: a detail with the entity under the wrong key and an empty newStatus.
  const bad = path.join(f.dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ tenantId: 'acme-shop', oldStatus: 'approved', newStatus: '', salesOrder: { uuid: 'u-1' } }));
  const notJson = path.join(f.dir, 'not.json');
  writeFileSync(notJson, '{"tenantId": ');
  const sentBefore = (await putEventsReceived(f)).length;

  // Act
  const [invalid, broken, unknownType, missing, refused] = await Promise.all([
    cli(['events', 'send', '--type', 'return_order.status.changed', '--file', bad, ...f.local]),
    cli(['events', 'send', '--type', 'return_order.status.changed', '--file', notJson, ...f.local]),
    cli(['events', 'send', '--type', 'return_order.status.change', '--tenant', 't', '--old', 'a', '--new', 'b', '--uuid', 'u', ...f.local]),
    cli(['events', 'send', '--type', 'payment_operation.status.changed', '--tenant', 't', '--new', 'b', ...f.local]),
    cli(['events', 'send', '--type', 'payment_operation.status.changed', '--tenant', 't', '--old', 'a', '--new', 'b', '--uuid', 'u', '--source', 'test.fail', ...f.local]),
  ]);

  // Assess
  expect(invalid.code).toBe(2);
  expect(invalid.stderr).toContain(`--file ${bad}: invalid return_order.status.changed event:`);
  expect(invalid.stderr).toContain('detail.newStatus: must be a non-empty string');
  expect(invalid.stderr).toContain('detail.returnOrder');
  expect(broken.code).toBe(2);
  expect(broken.stderr).toMatch(/is not JSON/);
  expect(unknownType.code).toBe(2);
  expect(unknownType.stderr).toContain('did you mean "return_order.status.changed"?');
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain('missing --old, --uuid');
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('PutEvents did not accept the event: InternalFailure: injected failure');
  for (const r of [invalid, broken, unknownType, missing, refused]) expect(r.stdout).toBe('');
  expect(await putEventsReceived(f)).toHaveLength(sentBefore);
});

test('events send warns, after sending, that the target will park an event of a source it does not accept', async () => {
  const r = await cli(['events', 'send', '--type', 'return_order.status.changed', '--tenant', 't', '--old', 'a', '--new', 'b', '--uuid', 'u', '--source', 'return.cloud', ...f.local]);
  expect(r.code).toBe(0);
  const put = (await putEventsReceived(f)).find((e) => `${e.EventId}\n` === r.stdout);
  expect(put).toMatchObject({ Source: 'return.cloud' });
  expect(r.stderr).toBe(
    'warning: source "return.cloud" is not one this target fans out (the default sources are "returns.cloud"): the event will not be delivered; fan-out parks it as of an unknown source (statushooks dlq list --queue fan-out)\n',
  );
});

test('the warning names the sources the target was deployed with (output EventSources)', () => {
  const target = (outputs: Record<string, string>) => ({ kind: 'stack' as const, label: 'stack S', endpoints: {}, outputs });
  expect(sourceWarning('orders.cloud', target({ EventSources: 'returns.cloud,orders.cloud' }))).toBeUndefined();
  expect(sourceWarning('returns.cloud', target({ EventSources: 'orders.cloud' }))).toContain('(the target accepts only "orders.cloud")');
  // A stack deployed before that output: the default sources.
  expect(sourceWarning('returns.cloud', target({}))).toBeUndefined();
});
