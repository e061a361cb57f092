import {
  admit,
  DEFAULT_BREAKER_POLICY,
  failingSinceAt,
  isHealthy,
  LAST_ERROR_MAX_CHARS,
  markSlow,
  record,
  shouldDisable,
  waitForOpenCircuit,
  type AttemptOutcome,
  type BreakerPolicy,
  type EndpointHealth,
} from '../../lambdas/core/breaker';

const policy: BreakerPolicy = DEFAULT_BREAKER_POLICY;
const T0 = Date.parse('2026-11-28T10:00:00.000Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
const iso = (ms: number) => new Date(ms).toISOString();
const noJitter = () => 0;
const fail: AttemptOutcome = { ok: false, error: 'HTTP 500' };
const ok: AttemptOutcome = { ok: true, durationMs: 120 };

const closed: EndpointHealth = { circuit: 'closed', consecutiveFailures: 0 };
const failing = (n: number, since = T0): EndpointHealth => ({ circuit: 'closed', consecutiveFailures: n, firstFailureAt: iso(since), lastFailureAt: iso(since), lastError: 'HTTP 500' });
const open = (openedAt: number, firstFailureAt = openedAt, extra: Partial<EndpointHealth> = {}): EndpointHealth => ({
  circuit: 'open',
  consecutiveFailures: 5,
  firstFailureAt: iso(firstFailureAt),
  openedAt: iso(openedAt),
  ...extra,
});

describe('breaker policy defaults', () => {
  it('opens after 5 failures, probes every minute, waits at most 15 min, slow for 10 min, disables after 120 h', () => {
    expect(DEFAULT_BREAKER_POLICY).toMatchObject({ threshold: 5, probeIntervalMs: 60_000, maxWaitMs: 15 * MIN, slowForMs: 10 * MIN, disableAfterHours: 120 });
  });
});

describe('admit', () => {
  it.each<[string, EndpointHealth | undefined, number, string]>([
    ['an endpoint that never failed', undefined, T0, 'send'],
    ['a closed circuit', closed, T0, 'send'],
    ['a closed circuit with failures below the threshold', failing(4), T0, 'send'],
    ['an open circuit before the probe interval', open(T0), T0 + 59_999, 'wait'],
    ['an open circuit once the probe interval passed', open(T0), T0 + MIN, 'probe'],
    ['an open circuit whose probe lease is still held', open(T0, T0, { probeLeaseUntil: T0 + 2 * MIN }), T0 + 90_000, 'wait'],
    ['a half-open circuit while its probe is in flight', open(T0, T0, { circuit: 'half-open', probeLeaseUntil: T0 + 2 * MIN }), T0 + MIN + 1, 'wait'],
    ['a half-open circuit whose prober vanished (lease over)', open(T0, T0, { circuit: 'half-open', probeLeaseUntil: T0 + 2 * MIN }), T0 + 2 * MIN, 'probe'],
  ])('%s → %s', (_label, health, now, kind) => {
    expect(admit(health, now, policy, noJitter).kind).toBe(kind);
  });

  it('tells a waiting job when to come back: not before the next probe', () => {
    expect(admit(open(T0), T0 + 10_000, policy, noJitter)).toEqual({ kind: 'wait', untilMs: T0 + 10_000 + MIN });
    expect(admit(open(T0, T0, { probeLeaseUntil: T0 + 5 * MIN }), T0 + 10_000, policy, noJitter)).toEqual({ kind: 'wait', untilMs: T0 + 5 * MIN });
  });
});

describe('record', () => {
  it('a success of a healthy endpoint changes nothing and writes nothing', () => {
    expect(record(undefined, ok, T0, policy)).toEqual({ health: closed, write: 'none' });
    expect(record(closed, ok, T0, policy)).toEqual({ health: closed, write: 'none' });
  });

  it('counts failures, remembering the first, the last and the error', () => {
    const first = record(undefined, fail, T0, policy);
    expect(first).toEqual({ health: { circuit: 'closed', consecutiveFailures: 1, firstFailureAt: iso(T0), lastFailureAt: iso(T0), lastError: 'HTTP 500' }, write: 'failure' });
    const second = record(first.health, { ok: false, error: 'timeout' }, T0 + 1000, policy);
    expect(second.health).toMatchObject({ consecutiveFailures: 2, firstFailureAt: iso(T0), lastFailureAt: iso(T0 + 1000), lastError: 'timeout' });
    expect(second.transition).toBeUndefined();
  });

  it.each([
    [1, 'closed', undefined],
    [4, 'closed', undefined],
    [5, 'open', 'opened'],
  ])('after %i consecutive failures the circuit is %s', (failures, circuit, transition) => {
    let health: EndpointHealth | undefined;
    let last;
    for (let i = 0; i < failures; i++) {
      last = record(health, fail, T0 + i, policy);
      health = last.health;
    }
    expect(last!.health.circuit).toBe(circuit);
    expect(last!.transition).toBe(transition);
  });

  it('reports "opened" once: further failures keep it open without a new transition, restarting the probe interval', () => {
    const again = record(open(T0), fail, T0 + 2 * MIN, policy);
    expect(again.health).toMatchObject({ circuit: 'open', consecutiveFailures: 6, openedAt: iso(T0 + 2 * MIN), firstFailureAt: iso(T0) });
    expect(again.transition).toBeUndefined();
  });

  it('a failed probe keeps the circuit open with a new openedAt, and keeps the lease so nobody probes again at once', () => {
    const probing = open(T0, T0, { circuit: 'half-open', probeLeaseUntil: T0 + 2 * MIN });
    const after = record(probing, fail, T0 + MIN + 500, policy);
    expect(after.health).toMatchObject({ circuit: 'open', openedAt: iso(T0 + MIN + 500), probeLeaseUntil: T0 + 2 * MIN });
    expect(after.transition).toBeUndefined();
    expect(admit(after.health, T0 + MIN + 501, policy, noJitter).kind).toBe('wait');
  });

  it.each<[string, EndpointHealth, string | undefined]>([
    ['a successful probe closes the circuit', open(T0, T0, { circuit: 'half-open', probeLeaseUntil: T0 + 2 * MIN }), 'closed'],
    ['a success of an open circuit closes it', open(T0), 'closed'],
    ['a success after failures below the threshold resets the count', failing(3), undefined],
  ])('%s', (_label, before, transition) => {
    const after = record({ ...before, lastError: 'HTTP 500', latencyMs: 100 }, { ok: true, durationMs: 200 }, T0 + 5 * MIN, policy);
    expect(after.write).toBe('success');
    expect(after.transition).toBe(transition);
    expect(after.health).toEqual({ circuit: 'closed', consecutiveFailures: 0, lastSuccessAt: iso(T0 + 5 * MIN), lastFailureAt: before.lastFailureAt, lastError: 'HTTP 500', latencyMs: 130 });
    expect(isHealthy(after.health, T0 + 5 * MIN)).toBe(true);
  });

  it('keeps a slow mark through a success: slow is not failing, and it expires on its own', () => {
    const after = record(failing(1), ok, T0, policy);
    expect(after.health.slowUntil).toBeUndefined();
    const slow = record({ ...failing(1), slowUntil: T0 + MIN }, ok, T0, policy);
    expect(slow.health.slowUntil).toBe(T0 + MIN);
  });

  it(`cuts the stored error to ${LAST_ERROR_MAX_CHARS} characters`, () => {
    expect(record(undefined, { ok: false, error: 'x'.repeat(5000) }, T0, policy).health.lastError).toHaveLength(LAST_ERROR_MAX_CHARS);
  });

  it('honours another threshold', () => {
    expect(record(failing(1), fail, T0, { ...policy, threshold: 2 }).transition).toBe('opened');
  });
});

describe('isHealthy (fast lane or retry lane)', () => {
  it.each<[string, EndpointHealth | undefined, boolean]>([
    ['never failed', undefined, true],
    ['closed, no failures', closed, true],
    ['closed, one failure since the last success', failing(1), false],
    ['open', open(T0), false],
    ['half-open', open(T0, T0, { circuit: 'half-open' }), false],
    ['marked slow until later', { ...closed, slowUntil: T0 + 1 }, false],
    ['slow mark expired', { ...closed, slowUntil: T0 }, true],
  ])('%s → %s', (_label, health, healthy) => {
    expect(isHealthy(health, T0)).toBe(healthy);
  });

  it('markSlow keeps a healthy endpoint out of the fast lane for slowForMs', () => {
    const slow = markSlow(undefined, T0, policy);
    expect(slow).toEqual({ circuit: 'closed', consecutiveFailures: 0, slowUntil: T0 + 10 * MIN });
    expect(isHealthy(slow, T0 + 10 * MIN - 1)).toBe(false);
    expect(isHealthy(slow, T0 + 10 * MIN)).toBe(true);
    expect(markSlow(failing(2), T0, policy)).toMatchObject({ consecutiveFailures: 2, slowUntil: T0 + 10 * MIN });
  });
});

describe('shouldDisable (sustained failure)', () => {
  it.each<[string, EndpointHealth | undefined, number, boolean]>([
    ['no health', undefined, T0 + 1000 * HOUR, false],
    ['failing for 119 h', { ...failing(40), failingSince: iso(T0) }, T0 + 119 * HOUR, false],
    ['failing for 120 h', { ...failing(40), failingSince: iso(T0) }, T0 + 120 * HOUR, true],
    // No failure yet past the window in which another instance's success may go unwritten: not sure it has been failing.
    ['a first failure 200 h ago, nothing since', failing(1), T0 + 200 * HOUR, false],
    ['recovered since (no failures)', { ...closed, lastFailureAt: iso(T0) }, T0 + 200 * HOUR, false],
  ])('%s → %s', (_label, health, now, expected) => {
    expect(shouldDisable(health, now, policy)).toBe(expected);
  });

  it('accepts fractional hours (tests use seconds)', () => {
    const quick = { ...policy, disableAfterHours: 0.001 }; // 3.6 s
    expect(shouldDisable({ ...failing(2), failingSince: iso(T0) }, T0 + 3599, quick)).toBe(false);
    expect(shouldDisable({ ...failing(2), failingSince: iso(T0) }, T0 + 3600, quick)).toBe(true);
  });
});

describe('failingSinceAt: the first failure no unwritten success can follow', () => {
  const W = policy.unseenSuccessMs;
  it('is unknown while the streak is younger than unseenSuccessMs, then the first failure past it', () => {
    expect(failingSinceAt(failing(1), iso(T0), T0 + W, policy)).toBeUndefined();
    expect(failingSinceAt(failing(1), iso(T0), T0 + 120 * HOUR, policy)).toBe(iso(T0 + 120 * HOUR));
  });

  it('once set, it stays for the whole streak', () => {
    expect(failingSinceAt({ ...failing(3), failingSince: iso(T0 + MIN) }, iso(T0 + 2 * MIN), T0 + 5 * HOUR, policy)).toBe(iso(T0 + MIN));
  });

  it('a streak that already failed past the window without one (written before failingSince existed) keeps its first failure', () => {
    expect(failingSinceAt(failing(2), iso(T0 + MIN), T0 + 2 * MIN, policy)).toBe(iso(T0));
  });

  it('record() carries it: a failure after a long quiet spell starts the clock, not the failure before the spell', () => {
    const after = record(failing(1), { ok: false, error: 'HTTP 500' }, T0 + 120 * HOUR, policy).health;
    expect(after).toMatchObject({ consecutiveFailures: 2, firstFailureAt: iso(T0), failingSince: iso(T0 + 120 * HOUR) });
    expect(shouldDisable(after, T0 + 120 * HOUR, policy)).toBe(false);
    // A success ends the streak and its clock.
    expect(record(after, { ok: true, durationMs: 10 }, T0 + 121 * HOUR, policy).health).not.toHaveProperty('failingSince');
  });
});

describe('waiting behind an open circuit', () => {
  it.each([
    ['just opened', 0, MIN],
    ['failing for 10 min', 10 * MIN, MIN],
    ['failing for 1 h', HOUR, 6 * MIN],
    ['failing for 2.5 h', 2.5 * HOUR, 15 * MIN],
    ['failing for 3 days', 72 * HOUR, 15 * MIN],
  ])('%s: waits %i ms', (_label, failingFor, expected) => {
    const now = T0 + failingFor;
    // opened long ago relative to the probe, so only the growth decides
    const health = open(now - 2 * MIN, T0);
    expect(waitForOpenCircuit(health, now, policy, noJitter)).toBe(expected);
  });

  it('grows monotonically and never exceeds maxWaitMs, whatever the jitter', () => {
    let previous = 0;
    for (let h = 0; h <= 200; h += 0.25) {
      const now = T0 + h * HOUR;
      const wait = waitForOpenCircuit(open(now - 2 * MIN, T0), now, policy, noJitter);
      expect(wait).toBeGreaterThanOrEqual(previous);
      expect(wait).toBeLessThanOrEqual(policy.maxWaitMs);
      expect(waitForOpenCircuit(open(now - 2 * MIN, T0), now, policy, () => 0.999)).toBeLessThanOrEqual(policy.maxWaitMs);
      previous = wait;
    }
  });

  it('never brings a job back before the next probe is due', () => {
    expect(waitForOpenCircuit(open(T0), T0 + 1000, policy, () => 0.999)).toBe(MIN - 1000);
    expect(waitForOpenCircuit(open(T0, T0, { probeLeaseUntil: T0 + 5 * MIN }), T0 + 1000, policy, noJitter)).toBe(5 * MIN - 1000);
  });

  it('spreads a backlog: jitter shortens the wait by up to 20 %', () => {
    const now = T0 + 5 * HOUR;
    const health = open(now - 2 * MIN, T0);
    const waits = [0, 0.25, 0.5, 0.999].map((r) => waitForOpenCircuit(health, now, policy, () => r));
    expect(waits[0]).toBe(15 * MIN);
    expect(new Set(waits).size).toBe(4);
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(0.8 * 15 * MIN);
  });

  it('a job waiting through 120 h of failure is received a few hundred times, not thousands', () => {
    let now = T0;
    let receives = 0;
    while (now < T0 + 120 * HOUR) {
      // the probes keep failing: the circuit was (re)opened at most a minute ago
      const a = admit(open(now - ((now - T0) % MIN), T0), now, policy, () => 0.5);
      if (a.kind !== 'wait') throw new Error('expected a wait');
      now = a.untilMs;
      receives++;
    }
    expect(receives).toBeGreaterThan(100);
    expect(receives).toBeLessThan(700);
  });

  it('resumes a young outage quickly: a job waiting 10 min into an outage comes back within ~1 min', () => {
    const now = T0 + 10 * MIN;
    const a = admit(open(now - 30_000, T0), now, policy, () => 0.5);
    expect(a).toEqual({ kind: 'wait', untilMs: now + MIN * 0.9 });
  });
});
