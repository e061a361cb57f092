import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { signatureHeaders } from '../../lambdas/core/signing';
import { newSecret, signingSecrets, type Subscription } from '../../lambdas/core/subscriptions';
import { cli, getItem, json, putItem, scanTable, type Fixture, useFixture } from './helpers';

jest.setTimeout(60_000);

let f: Fixture;
// The subscription lifecycle runs against the whole local runtime, as an operator uses it.
useFixture((started) => (f = started), 'runtime');

const TENANT = 'acme-shop';

describe('subscriptions: bad input writes nothing', () => {
  test('unknown event names, empty status filter values, an empty description and a missing --tenant are usage errors', async () => {
    // Prepare: an empty table.
    // Act
    const [typo, emptyFilter, noTenant, emptyDescription, blankDescription] = await Promise.all([
      cli(['subscriptions', 'create', '--tenant', TENANT, '--url', 'https://hooks.example.com/a', '--events', 'return_order.status.chnged', ...f.local]),
      cli(['subscriptions', 'create', '--tenant', TENANT, '--url', 'https://hooks.example.com/a', '--events', '*', '--status-filter', 'delivered,,cancelled', ...f.local]),
      cli(['subscriptions', 'create', '--url', 'https://hooks.example.com/a', '--events', '*', ...f.local]),
      cli(['subscriptions', 'create', '--tenant', TENANT, '--url', 'https://hooks.example.com/a', '--events', '*', '--description', '', ...f.local]),
      cli(['subscriptions', 'create', '--tenant', TENANT, '--url', 'https://hooks.example.com/a', '--events', '*', '--description', '   ', '--json', ...f.local]),
    ]);
    // Assess
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown event "return_order.status.chnged" (did you mean "return_order.status.changed"?)');
    expect(emptyFilter.code).toBe(2);
    expect(emptyFilter.stderr).toMatch(/--status-filter has an empty status value/);
    expect(noTenant.code).toBe(2);
    expect(noTenant.stderr).toMatch(/required option '--tenant <id>' not specified/);
    // The same check as `update --description ""`: an empty description is a mistake, not a value.
    for (const r of [emptyDescription, blankDescription]) expect(r).toMatchObject({ code: 2, stderr: 'error: --description must not be empty\n' });
    for (const r of [typo, emptyFilter, noTenant, emptyDescription, blankDescription]) expect(r.stdout).toBe('');
    expect(await scanTable(f)).toEqual([]);
  });
});

describe('subscriptions: the whole lifecycle', () => {
  let created: Subscription;
  let second: { id: string; secret: string };

  test('create --json writes the item of docs/architecture.md §3 and prints its id and secret', async () => {
    const before = Date.now();
    const r = await cli([
      'subscriptions', 'create', '--tenant', TENANT, '--url', 'https://hooks.acme.example/statushooks',
      '--events', 'return_order.status.changed,sales_order.status.changed', '--status-filter', 'delivered, cancelled',
      '--description', 'ops team', '--json', ...f.local,
    ]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    created = json<Subscription>(r);
    expect(created).toMatchObject({
      tenantId: TENANT,
      url: 'https://hooks.acme.example/statushooks',
      events: ['return_order.status.changed', 'sales_order.status.changed'],
      statusFilter: ['delivered', 'cancelled'],
      state: 'active',
      description: 'ops team',
    });
    expect(created.subscriptionId).toMatch(/^sub_[0-9a-f]{24}$/);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Date.parse(created.createdAt!)).toBeGreaterThanOrEqual(before - 1000);
    expect(created.updatedAt).toBe(created.createdAt);
    expect(await getItem(f, TENANT, created.subscriptionId)).toEqual(created);
  });

  test('create in text prints the id and the secret once', async () => {
    const r = await cli(['subscriptions', 'create', '--tenant', TENANT, '--url', 'http://127.0.0.1:9/hook', '--events', '*', ...f.local]);
    expect(r.code).toBe(0);
    const id = /subscriptionId\s+(sub_\w+)/.exec(r.stdout)?.[1];
    const secret = /secret\s+(whsec_\S+)/.exec(r.stdout)?.[1];
    expect(id).toBeDefined();
    expect(secret).toBeDefined();
    second = { id: id!, secret: secret! };
    // The local runtime allows loopback http receivers.
    expect(await getItem(f, TENANT, second.id)).toMatchObject({ url: 'http://127.0.0.1:9/hook', events: ['*'], secret: second.secret, state: 'active' });
  });

  test('list and get show the subscriptions but never a secret', async () => {
    const [listText, listJson, getText] = await Promise.all([
      cli(['subscriptions', 'list', '--tenant', TENANT, ...f.local]),
      cli(['subscriptions', 'list', '--tenant', TENANT, '--json', ...f.local]),
      cli(['subscriptions', 'get', created.subscriptionId, '--tenant', TENANT, ...f.local]),
    ]);
    for (const r of [listText, listJson, getText]) {
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain(created.secret);
      expect(r.stdout).not.toContain(second.secret);
      expect(r.stdout).not.toContain('whsec_');
    }
    expect(listText.stdout).toMatch(new RegExp(`${created.subscriptionId}\\s+active\\s+healthy\\s+return_order.status.changed,sales_order.status.changed\\s+delivered,cancelled`));
    expect(listText.stdout).toContain(second.id);
    const listed = json<{ subscriptions: Subscription[] }>(listJson).subscriptions;
    expect(listed.map((s) => s.subscriptionId).sort()).toEqual([created.subscriptionId, second.id].sort());
    expect(listed.find((s) => s.subscriptionId === second.id)).toMatchObject({ events: ['*'], state: 'active', url: 'http://127.0.0.1:9/hook' });
    for (const s of listed) expect(Object.keys(s).filter((k) => /secret$/i.test(k))).toEqual([]);
    expect(getText.stdout).toMatch(new RegExp(`subscriptionId\\s+${created.subscriptionId}`));
    expect(getText.stdout).toMatch(/secret\s+\(hidden\)/);
  });

  test('update changes what it is given, removes the status filter, sets updatedAt and keeps the secret', async () => {
    const r = await cli([
      'subscriptions', 'update', created.subscriptionId, '--tenant', TENANT, '--url', 'https://hooks2.acme.example/in',
      '--events', 'payment_operation.status.changed', '--no-status-filter', '--json', ...f.local,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('whsec_');
    const item = (await getItem(f, TENANT, created.subscriptionId))!;
    expect(item).toMatchObject({ url: 'https://hooks2.acme.example/in', events: ['payment_operation.status.changed'], secret: created.secret, description: 'ops team', createdAt: created.createdAt });
    expect(item).not.toHaveProperty('statusFilter');
    expect(Date.parse(item.updatedAt as string)).toBeGreaterThan(Date.parse(created.updatedAt!));
  });

  test('pause, then resume re-enables a disabled subscription and clears disabledReason', async () => {
    const paused = await cli(['subscriptions', 'pause', created.subscriptionId, '--tenant', TENANT, ...f.local]);
    expect(paused).toMatchObject({ code: 0, stdout: `${created.subscriptionId} (tenant ${TENANT}) is now paused\n` });
    expect(await getItem(f, TENANT, created.subscriptionId)).toMatchObject({ state: 'paused' });

    // What the delivery function does on 410 Gone.
    const item = (await getItem(f, TENANT, created.subscriptionId))!;
    await putItem(f, { ...item, state: 'disabled', disabledReason: '410 Gone from https://hooks2.acme.example/in' });
    const resumed = await cli(['subscriptions', 'resume', created.subscriptionId, '--tenant', TENANT, '--json', ...f.local]);
    expect(resumed.code).toBe(0);
    expect(json(resumed)).toMatchObject({ state: 'active' });
    const after = (await getItem(f, TENANT, created.subscriptionId))!;
    expect(after.state).toBe('active');
    expect(after).not.toHaveProperty('disabledReason');
    expect(Date.parse(after.updatedAt as string)).toBeGreaterThan(Date.parse(item.updatedAt as string));
  });

  test('rotate-secret keeps the old secret signing during the grace: both signatures verify', async () => {
    const oldSecret = created.secret;
    const before = Date.now();
    const r = await cli(['subscriptions', 'rotate-secret', created.subscriptionId, '--tenant', TENANT, '--grace', '24h', '--json', ...f.local]);
    expect(r.code).toBe(0);
    const rotated = json<{ secret: string; previousSecretExpiresAt: string }>(r);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(oldSecret);
    expect(r.stdout).not.toContain(oldSecret);

    const item = (await getItem(f, TENANT, created.subscriptionId)) as Subscription;
    expect(item).toMatchObject({ secret: rotated.secret, previousSecret: oldSecret, previousSecretExpiresAt: rotated.previousSecretExpiresAt });
    const expires = Date.parse(item.previousSecretExpiresAt!);
    expect(expires - before).toBeGreaterThanOrEqual(24 * 3600_000 - 1000);
    expect(expires - before).toBeLessThanOrEqual(24 * 3600_000 + 60_000);

    // What the delivery function sends now: one signature per live secret.
    const body = '{"event":"payment_operation.status.changed","oldStatus":"pending","newStatus":"paid","paymentOperation":{"number":null,"uuid":"u-1","externalId":null}}';
    const secrets = signingSecrets(item, new Date());
    expect(secrets).toEqual([rotated.secret, oldSecret]);
    const headers = signatureHeaders('msg_rotation', body, secrets, new Date());
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    // A receiver still on the old secret and one already on the new secret both accept it.
    expect(() => new Webhook(oldSecret).verify(body, { ...headers })).not.toThrow();
    expect(() => new Webhook(rotated.secret).verify(body, { ...headers })).not.toThrow();

    // The same check through `statushooks verify`: valid with the old secret, invalid for a changed body.
    const args = ['verify', '--id', headers['webhook-id'], '--timestamp', headers['webhook-timestamp'], '--signature', headers['webhook-signature'], '--body', '-'];
    const [valid, tampered] = await Promise.all([
      cli([...args, '--secret', oldSecret], { input: body }),
      cli([...args, '--secret', rotated.secret, '--json'], { input: body.replace('paid', 'refunded') }),
    ]);
    expect(valid).toMatchObject({ code: 0, stdout: 'valid\n' });
    expect(tampered.code).toBe(1);
    expect(json(tampered)).toEqual({ valid: false, reason: 'No matching signature found' });
    expect(tampered.stderr).toContain('invalid signature: No matching signature found');
    created = { ...created, secret: rotated.secret };
  });

  test('bad input on an existing subscription is refused and changes nothing', async () => {
    const before = await getItem(f, TENANT, created.subscriptionId);
    const id = created.subscriptionId;
    const [otherTenant, updateOtherTenant, badGrace, typo, emptyFilter, nothing, unknownId, emptyDescription] = await Promise.all([
      cli(['subscriptions', 'get', id, '--tenant', 'globex', ...f.local]),
      cli(['subscriptions', 'update', id, '--tenant', 'globex', '--description', 'hijack', ...f.local]),
      cli(['subscriptions', 'rotate-secret', id, '--tenant', TENANT, '--grace', '24', ...f.local]),
      cli(['subscriptions', 'update', id, '--tenant', TENANT, '--events', 'sales_order_parcel.status.chaged', ...f.local]),
      cli(['subscriptions', 'update', id, '--tenant', TENANT, '--status-filter', '', ...f.local]),
      cli(['subscriptions', 'update', id, '--tenant', TENANT, ...f.local]),
      cli(['subscriptions', 'pause', 'sub_doesnotexist', '--tenant', TENANT, ...f.local]),
      cli(['subscriptions', 'update', id, '--tenant', TENANT, '--description', '', ...f.local]),
    ]);
    expect(otherTenant).toMatchObject({ code: 1, stdout: '' });
    expect(otherTenant.stderr).toBe(`error: subscription ${id} not found for tenant globex\n`);
    expect(updateOtherTenant).toMatchObject({ code: 1, stderr: `error: subscription ${id} not found for tenant globex\n` });
    expect(badGrace.code).toBe(2);
    expect(badGrace.stderr).toMatch(/--grace: malformed duration "24"/);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('did you mean "sales_order_parcel.status.changed"?');
    expect(emptyFilter.code).toBe(2);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/nothing to update/);
    expect(unknownId).toMatchObject({ code: 1, stderr: `error: subscription sub_doesnotexist not found for tenant ${TENANT}\n` });
    expect(emptyDescription).toMatchObject({ code: 2, stderr: 'error: --description must not be empty\n' });
    expect(await getItem(f, TENANT, id)).toEqual(before);
    expect(await getItem(f, 'globex', id)).toBeUndefined();
    expect(await getItem(f, TENANT, 'sub_doesnotexist')).toBeUndefined();
  });

  test('delete removes the item; deleting it again is "not found"', async () => {
    const deleted = await cli(['subscriptions', 'delete', second.id, '--tenant', TENANT, '--json', ...f.local]);
    expect(deleted.code).toBe(0);
    expect(json(deleted)).toEqual({ tenantId: TENANT, subscriptionId: second.id, deleted: true });
    expect(await getItem(f, TENANT, second.id)).toBeUndefined();
    const again = await cli(['subscriptions', 'delete', second.id, '--tenant', TENANT, ...f.local]);
    expect(again).toMatchObject({ code: 1, stderr: `error: subscription ${second.id} not found for tenant ${TENANT}\n` });
    expect((await scanTable(f)).map((i) => i.subscriptionId)).toEqual([created.subscriptionId]);
  });
});

test('after rotate-secret a real delivery carries two signatures: receivers on the old and on the new secret both accept it', async () => {
  // Prepare: a receiver on 127.0.0.1 and a subscription to it, made with the CLI.
  const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const created = json<Subscription>(await cli(['subscriptions', 'create', '--tenant', 'rotation-shop', '--url', url, '--events', 'payment_operation.status.changed', '--json', ...f.local]));
    const rotated = json<{ secret: string }>(await cli(['subscriptions', 'rotate-secret', created.subscriptionId, '--tenant', 'rotation-shop', '--grace', '1h', '--json', ...f.local]));

    // Act: a status change put on the bus with the CLI.
    const sent = await cli(['events', 'send', '--type', 'payment_operation.status.changed', '--tenant', 'rotation-shop', '--old', 'pending', '--new', 'paid', '--uuid', 'p-rot-1', ...f.local]);
    expect(sent.code).toBe(0);
    const deadline = Date.now() + 20_000;
    while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));

    // Assess: one request, the exact body, two signatures, each verifying with its own secret.
    expect(received).toHaveLength(1);
    const { headers, body } = received[0]!;
    expect(body).toBe('{"event":"payment_operation.status.changed","oldStatus":"pending","newStatus":"paid","paymentOperation":{"number":null,"uuid":"p-rot-1","externalId":null}}');
    expect(String(headers['webhook-signature']).split(' ')).toHaveLength(2);
    const plain = headers as Record<string, string>;
    expect(() => new Webhook(created.secret).verify(body, plain)).not.toThrow();
    expect(() => new Webhook(rotated.secret).verify(body, plain)).not.toThrow();
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('a subscription item broken in the table (written by another tool)', () => {
  const tenant = 'broken-shop';
  const id = 'sub_broken0000000000000001';
  const brokenSecret = 'not-a-secret';
  const problems = [
    'events.0: unknown event "nope" (did you mean "return_order.status.changed"?)',
    'secret: must be "whsec_" followed by base64 of 24 to 64 bytes',
  ];
  const invalid = `subscription ${id} of tenant ${tenant} is invalid: ${problems.join('; ')}`;

  beforeAll(async () => {
    await putItem(f, {
      tenantId: tenant,
      subscriptionId: id,
      url: 'https://hooks.broken.example/in',
      events: ['nope'],
      secret: brokenSecret,
      state: 'active',
      createdAt: '2025-11-28T10:00:00.000Z',
      updatedAt: '2025-11-28T10:00:00.000Z',
    });
  });

  test('get shows the item as stored with its problems, names each broken field, exits 1, and never shows the secret', async () => {
    const [text, asJson] = await Promise.all([
      cli(['subscriptions', 'get', id, '--tenant', tenant, ...f.local]),
      cli(['subscriptions', 'get', id, '--tenant', tenant, '--json', ...f.local]),
    ]);
    const line = `error: ${invalid}; fan-out skips it until it is fixed (events: update --events; secret: rotate-secret)\n`;
    expect(text).toMatchObject({ code: 1, stderr: line });
    expect(asJson).toMatchObject({ code: 1, stderr: line });
    expect(json(asJson)).toEqual({
      tenantId: tenant,
      subscriptionId: id,
      url: 'https://hooks.broken.example/in',
      events: ['nope'],
      state: 'active',
      createdAt: '2025-11-28T10:00:00.000Z',
      updatedAt: '2025-11-28T10:00:00.000Z',
      problems,
    });
    expect(text.stdout).toMatch(/events\s+nope/);
    expect(text.stdout).toMatch(/secret\s+\(hidden\)/);
    expect(text.stdout).toContain(`problem         ${problems[0]}`);
    for (const r of [text, asJson]) {
      expect(r.stdout).not.toContain(brokenSecret);
      expect(r.stderr).not.toMatch(/Error:/);
    }
  });

  test('pause and a change that fixes nothing are refused, naming the fields; nothing is written', async () => {
    const before = await getItem(f, tenant, id);
    const [pause, description] = await Promise.all([
      cli(['subscriptions', 'pause', id, '--tenant', tenant, ...f.local]),
      cli(['subscriptions', 'update', id, '--tenant', tenant, '--description', 'ops', ...f.local]),
    ]);
    for (const r of [pause, description]) {
      expect(r).toMatchObject({ code: 1, stdout: '', stderr: `error: ${invalid}; nothing was written. Fix it first (events: update --events; secret: rotate-secret)\n` });
    }
    expect(await getItem(f, tenant, id)).toEqual(before);
  });

  test('update --events fixes the events (a warning names what is still broken), rotate-secret the secret; then it is a working subscription', async () => {
    const events = await cli(['subscriptions', 'update', id, '--tenant', tenant, '--events', '*', '--json', ...f.local]);
    expect(events.code).toBe(0);
    expect(events.stderr).toBe(`warning: written, but subscription ${id} of tenant ${tenant} is invalid: ${problems[1]}; fan-out skips it until that is fixed (secret: rotate-secret)\n`);
    expect(json(events)).toMatchObject({ events: ['*'], problems: [problems[1]] });
    expect(await getItem(f, tenant, id)).toMatchObject({ events: ['*'], secret: brokenSecret });

    const rotated = await cli(['subscriptions', 'rotate-secret', id, '--tenant', tenant, '--json', ...f.local]);
    expect(rotated.code).toBe(0);
    expect(rotated.stderr).toBe('warning: the old secret was not a valid secret, so it cannot keep signing: the new secret replaces it at once\n');
    const { secret, previousSecretExpiresAt } = json<{ secret: string; previousSecretExpiresAt: string | null }>(rotated);
    expect(previousSecretExpiresAt).toBeNull();
    const item = await getItem(f, tenant, id);
    expect(item).toMatchObject({ secret, events: ['*'] });
    expect(item).not.toHaveProperty('previousSecret');

    const get = await cli(['subscriptions', 'get', id, '--tenant', tenant, '--json', ...f.local]);
    expect(get).toMatchObject({ code: 0, stderr: '' });
    expect(json(get)).toMatchObject({ subscriptionId: id, events: ['*'], state: 'active' });
  });
});

describe('rotate-secret inside the grace period of the last rotation', () => {
  test('is refused, naming when the grace period ends; --force drops the older previous secret explicitly', async () => {
    // Prepare: a subscription rotated once, so its first secret still signs for 2h.
    const tenant = 'grace-shop';
    const created = json<Subscription>(await cli(['subscriptions', 'create', '--tenant', tenant, '--url', 'https://hooks.grace.example/in', '--events', '*', '--json', ...f.local]));
    const id = created.subscriptionId;
    const first = json<{ secret: string; previousSecretExpiresAt: string }>(await cli(['subscriptions', 'rotate-secret', id, '--tenant', tenant, '--grace', '2h', '--json', ...f.local]));
    const afterFirst = await getItem(f, tenant, id);
    expect(afterFirst).toMatchObject({ secret: first.secret, previousSecret: created.secret, previousSecretExpiresAt: first.previousSecretExpiresAt });

    // Act: rotate again, without and then with --force (also with --grace 0s, which would drop both).
    const [again, noGrace] = await Promise.all([
      cli(['subscriptions', 'rotate-secret', id, '--tenant', tenant, ...f.local]),
      cli(['subscriptions', 'rotate-secret', id, '--tenant', tenant, '--grace', '0s', '--json', ...f.local]),
    ]);

    // Assess: refused, nothing written, the message says until when.
    for (const r of [again, noGrace]) {
      expect(r).toMatchObject({ code: 1, stdout: '' });
      expect(r.stderr).toMatch(
        new RegExp(
          `^error: subscription ${id} of tenant ${tenant} is still in the grace period of its last rotation: its previous secret signs until ${first.previousSecretExpiresAt.replace(/\./g, '\\.')} \\(in (1h|2h|1\\d\\dm)\\)\\. ` +
            'Rotating now would drop that secret and receivers still on it would fail verification; wait until the grace period ends, or pass --force to drop it now\\. Nothing was written\\n$',
        ),
      );
    }
    expect(await getItem(f, tenant, id)).toEqual(afterFirst);

    const forced = await cli(['subscriptions', 'rotate-secret', id, '--tenant', tenant, '--grace', '1h', '--force', '--json', ...f.local]);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toBe(`warning: --force: dropped the previous secret that would have signed until ${first.previousSecretExpiresAt}\n`);
    const second = json<{ secret: string }>(forced);
    const item = (await getItem(f, tenant, id)) as Subscription;
    // One previous secret: the one the first rotation issued; the created one no longer signs.
    expect(item).toMatchObject({ secret: second.secret, previousSecret: first.secret });
    expect(signingSecrets(item, new Date())).toEqual([second.secret, first.secret]);
  });
});

describe('control characters in an item written by another tool', () => {
  test('list and get show them escaped: one row per subscription, no escape code reaches the terminal; --json keeps the value exact', async () => {
    // Prepare: a description with a newline, a tab and colour codes, as another tool could write it.
    const tenant = 'escape-shop';
    const id = 'sub_escape000000000000001';
    const description = 'line1\nline2\t\u001b[31mred\u001b[0m';
    await putItem(f, {
      tenantId: tenant,
      subscriptionId: id,
      url: 'https://hooks.escape.example/in',
      events: ['*'],
      secret: newSecret(),
      state: 'active',
      description,
      createdAt: '2025-11-28T10:00:00.000Z',
      updatedAt: '2025-11-28T10:00:00.000Z',
    });

    // Act
    const [list, get, listJson] = await Promise.all([
      cli(['subscriptions', 'list', '--tenant', tenant, ...f.local]),
      cli(['subscriptions', 'get', id, '--tenant', tenant, ...f.local]),
      cli(['subscriptions', 'list', '--tenant', tenant, '--json', ...f.local]),
    ]);

    // Assess
    for (const r of [list, get, listJson]) expect(r).toMatchObject({ code: 0, stderr: '' });
    const shown = 'line1\\nline2\\t\\u001b[31mred\\u001b[0m'.replace(/[\\[]/g, '\\$&');
    const rows = list.stdout.trimEnd().split('\n');
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatch(new RegExp(`^${id} .* ${shown}$`));
    expect(get.stdout).toMatch(new RegExp(`^description +${shown}$`, 'm'));
    // eslint-disable-next-line no-control-regex -- the point is that none is printed
    for (const r of [list, get]) expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000B-\u001F\u007F-\u009F]/);
    expect(json<{ subscriptions: Subscription[] }>(listJson).subscriptions[0]!.description).toBe(description);
  });
});
