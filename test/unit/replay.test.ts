import { newReplayName, replayDescription, replayFilterOf, replayMatches, replayNameOf, replayScope, type ReplayFilter } from '../../lambdas/core/replay';

const event = (tenantId: string, type = 'return_order.status.changed', replayName?: string) => ({ id: 'e', 'detail-type': type, detail: { tenantId }, ...(replayName ? { 'replay-name': replayName } : {}) });

describe('replay filters', () => {
  it('round-trip through the description, and match by tenant and event type', () => {
    const filter = replayFilterOf(replayDescription({ tenantId: 'acme', event: 'sales_order.status.changed' }));
    expect(filter).toEqual({ tenantId: 'acme', event: 'sales_order.status.changed' });
    expect(replayMatches(filter, event('acme', 'sales_order.status.changed'))).toBe(true);
    expect(replayMatches(filter, event('acme'))).toBe(false);
    expect(replayMatches(filter, event('globex', 'sales_order.status.changed'))).toBe(false);
    expect(replayMatches(replayFilterOf(replayDescription({ tenantId: 'acme' })), event('acme', 'payment_operation.status.changed'))).toBe(true);
  });

  it('replay everything when the description carries no statushooks filter (a replay started elsewhere)', () => {
    for (const description of [undefined, '', 'nightly repair', '{"other":1}', 'null', '{"statushooks":"x"}']) {
      expect(replayFilterOf(description)).toEqual({});
      expect(replayMatches(replayFilterOf(description), event('anyone'))).toBe(true);
    }
    // An event name this fan-out does not know narrows the replay to nothing, never widens it to everything.
    const unknown = replayFilterOf('{"statushooks":{"event":"order.created"}}');
    expect(unknown).toEqual({ event: 'order.created' });
    expect(replayMatches(unknown, event('anyone'))).toBe(false);
  });

  it('carry a subscription: the description keeps it, the event still matches by tenant and type', () => {
    const description = replayDescription({ tenantId: 'acme', subscriptionId: 'sub_1', event: 'sales_order.status.changed' });
    expect(JSON.parse(description)).toEqual({ statushooks: { tenantId: 'acme', event: 'sales_order.status.changed', subscriptionId: 'sub_1' } });
    expect(replayFilterOf(description)).toEqual({ tenantId: 'acme', event: 'sales_order.status.changed', subscriptionId: 'sub_1' });
    expect(replayFilterOf('{"statushooks":{"tenantId":"acme","subscriptionId":7}}')).toEqual({ tenantId: 'acme' });
  });

  it('names replays within EventBridge\'s rules and recognises only its own', () => {
    const name = newReplayName(new Date('2026-12-04T03:15:00.123Z'), 'a1b2c3');
    expect(name).toBe('statushooks-20261204T031500-a1b2c3');
    expect(name).toMatch(/^[.\-_A-Za-z0-9]{1,64}$/);
    expect(replayNameOf(event('t', undefined, name))).toBe(name);
    expect(replayNameOf(event('t', undefined, 'console-replay'))).toBeUndefined();
    expect(replayNameOf(event('t'))).toBeUndefined();
  });
});

describe('replayScope: what fan-out does with an event', () => {
  const name = 'statushooks-20261204T031500-a1b2c3';
  const filters = new Map<string, ReplayFilter>([[name, { tenantId: 'acme', subscriptionId: 'sub_1' }]]);
  const filterOf = async (replayName: string) => {
    const filter = filters.get(replayName);
    if (!filter) throw new Error(`DescribeReplay failed for ${replayName}`);
    return filter;
  };

  it('an event of no statushooks replay: fanned out as usual, its filter never read', async () => {
    expect(await replayScope(event('acme'), filterOf)).toEqual({});
    expect(await replayScope(event('acme', undefined, 'console-replay'), filterOf)).toEqual({});
  });

  it("a replayed event of the replay's tenant goes to the named subscription only; another tenant's is skipped", async () => {
    expect(await replayScope(event('acme', undefined, name), filterOf)).toEqual({ onlySubscription: 'sub_1' });
    expect(await replayScope(event('globex', undefined, name), filterOf)).toEqual({ outside: `outside the filter of replay ${name}` });
  });

  it('a filter that cannot be read is thrown, not guessed', async () => {
    await expect(replayScope(event('acme', undefined, 'statushooks-20261204T031500-ffffff'), filterOf)).rejects.toThrow('DescribeReplay failed');
  });
});
