/**
 * The console's error pages, through its real app (cli/console/app.ts) and the CLI's own data
 * functions, against a target that is not there (a local runtime whose ports are closed) and
 * against ids the target does not know.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { consoleApp } from '../../cli/console/app';
import { Session } from '../../cli/console/security';
import type { Target } from '../../cli/target';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { OperationalEvents } from '../../lambdas/adapters/operational-events';
import { createDeliveryLogTable, createTenantTable, startDynalite, type Dynalite } from '../dynalite';

let closedPort = 0;
let stop = () => {};
let request: (path: string) => Promise<Response> = async () => new Response();

beforeAll(async () => {
  // A port nothing listens on: taken, then given back.
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const endpoint = `http://127.0.0.1:${closedPort}`;
  const target: Target = {
    kind: 'local',
    label: 'local runtime (test state)',
    region: 'eu-central-1',
    endpoints: { eventbridge: endpoint, dynamodb: endpoint, sqs: endpoint },
    outputs: {
      SubscriptionsTableName: 'Subscriptions',
      DeliveryLogTableName: 'DeliveryLog',
      HealthTableName: 'Health',
      EventBusName: 'bus',
      DeliveryDlqUrl: `${endpoint}/000000000000/delivery-dlq`,
      FanOutDlqUrl: `${endpoint}/000000000000/fan-out-dlq`,
    },
  };
  process.env.AWS_ACCESS_KEY_ID ??= 'statushooks-local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'statushooks-local';
  const session = new Session(4555);
  const console = consoleApp({ target, options: {}, session });
  stop = console.close;
  const host = '127.0.0.1:4555';
  request = (path) => Promise.resolve(console.app.request(`http://${host}${path}`, { headers: { host, cookie: `${session.cookieName}=${session.token}` } }));
});
afterAll(() => stop());

test('a target that does not answer is "Cannot reach the target" (503: it may pass), with the CLI\'s error line', async () => {
  for (const path of ['/', '/tenants/acme-shop', '/tenants/acme-shop/subscriptions/sub_1', '/dlq']) {
    const res = await request(path);
    const page = await res.text();
    expect([path, res.status]).toEqual([path, 503]);
    expect(page).toContain('<h1>Cannot reach the target</h1>');
    expect(page).toContain('error: cannot reach local runtime (test state)');
    expect(page).not.toContain('Something went wrong');
  }
});

describe('against a target that answers', () => {
  let dynamo: Dynalite;
  let known: (path: string) => Promise<Response> = async () => new Response();
  let stopKnown = () => {};

  beforeAll(async () => {
    dynamo = await startDynalite();
    for (const name of ['Subscriptions', 'Health']) await createTenantTable(dynamo.client, name);
    await createDeliveryLogTable(dynamo.client, 'DeliveryLog');
    const events = new OperationalEvents(DynamoDBDocumentClient.from(dynamo.client), 'Health');
    const hourAgo = Date.now() - 3_600_000;
    for (const [minutes, detailType] of [
      [0, 'statushooks.endpoint.failing'],
      [30, 'statushooks.endpoint.recovered'],
    ] as const) {
      await events.publishOperational({
        detailType,
        time: new Date(hourAgo + minutes * 60_000).toISOString(),
        detail: { tenantId: 'acme-shop', subscriptionId: `sub_${minutes}`, url: 'https://hooks.example.com/in', since: new Date(hourAgo).toISOString(), reason: `after ${minutes} minutes` },
      });
    }
    const endpoint = `http://127.0.0.1:${closedPort}`;
    const target: Target = {
      kind: 'local',
      label: 'local runtime (test state)',
      region: 'eu-central-1',
      endpoints: { eventbridge: endpoint, dynamodb: dynamo.endpoint, sqs: endpoint },
      outputs: { SubscriptionsTableName: 'Subscriptions', DeliveryLogTableName: 'DeliveryLog', HealthTableName: 'Health', EventBusName: 'bus' },
    };
    const session = new Session(4556);
    const console = consoleApp({ target, options: {}, session });
    stopKnown = console.close;
    const host = '127.0.0.1:4556';
    known = (path) => Promise.resolve(console.app.request(`http://${host}${path}`, { headers: { host, cookie: `${session.cookieName}=${session.token}` } }));
  });
  afterAll(async () => {
    stopKnown();
    await dynamo?.close();
  });

  test('an unknown subscription or delivery is "Not found" (404), with a way back to its tenant', async () => {
    for (const path of ['/tenants/acme-shop/subscriptions/sub_nope', '/tenants/acme-shop/deliveries/msg_nope']) {
      const res = await known(path);
      const page = await res.text();
      expect([path, res.status]).toEqual([path, 404]);
      expect(page).toContain('<h1>Not found</h1>');
      expect(page).toContain('<a href="/tenants/acme-shop">Back to tenant acme-shop</a>');
    }
  });

  test('operational events are listed newest first, like every other list of the console', async () => {
    const page = await (await known('/')).text();
    const recovered = page.indexOf('after 30 minutes');
    const failing = page.indexOf('after 0 minutes');
    expect(recovered).toBeGreaterThan(0);
    expect(failing).toBeGreaterThan(recovered);
  });
});
