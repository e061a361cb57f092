import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { cli, json, scanTable, type Fixture, useFixture } from './helpers';

jest.setTimeout(60_000);

let f: Fixture;
useFixture((started) => (f = started));

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

describe('finding the target', () => {
  test('without --stack, the CLI uses .statushooks/dev.json of the working directory', async () => {
    mkdirSync(path.join(f.dir, 'project', '.statushooks'), { recursive: true });
    writeFileSync(path.join(f.dir, 'project', '.statushooks', 'dev.json'), JSON.stringify({ ...f.state, fakeAws: undefined }));
    const r = await cli(['subscriptions', 'list', '--tenant', 'acme-shop', '--json'], { cwd: path.join(f.dir, 'project') });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(json(r)).toEqual({ tenantId: 'acme-shop', subscriptions: [], invalid: [] });
  });

  test('from a subfolder, the CLI finds .statushooks/dev.json in the nearest parent folder that has one, like git', async () => {
    // Prepare: a project folder with the state file, a deeper folder without one.
    const project = path.join(f.dir, 'nested-project');
    const deep = path.join(project, 'src', 'handlers');
    mkdirSync(path.join(project, '.statushooks'), { recursive: true });
    mkdirSync(deep, { recursive: true });
    writeFileSync(path.join(project, '.statushooks', 'dev.json'), JSON.stringify({ ...f.state, fakeAws: undefined }));

    // Act
    const fromDeep = await cli(['subscriptions', 'list', '--tenant', 'acme-shop', '--json'], { cwd: deep });

    // Assess: the parent's runtime is used.
    expect(fromDeep).toMatchObject({ code: 0, stderr: '' });
    expect(json(fromDeep)).toEqual({ tenantId: 'acme-shop', subscriptions: [], invalid: [] });
  });

  test('an unexpected AWS error is one line, its class after the message, never "error: Error:"', async () => {
    const noTable = path.join(f.dir, 'no-table.json');
    writeFileSync(noTable, JSON.stringify({ ...f.state, SubscriptionsTableName: 'no-such-table' }));
    const r = await cli(['subscriptions', 'get', 'sub_1', '--tenant', 'acme-shop', '--local', noTable]);
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.stderr).toMatch(/^error: Requested resource not found \(ResourceNotFoundException\)\n$/);
    expect(r.stderr).not.toMatch(/^error: \w*(Error|Exception):/);
  });

  test('a missing or unreachable target is one clear line on stderr naming what was tried', async () => {
    const port = await closedPort();
    const stale = path.join(f.dir, 'stale.json');
    const endpoint = `http://127.0.0.1:${port}`;
    writeFileSync(stale, JSON.stringify({ ...f.state, endpoints: { eventbridge: endpoint, dynamodb: endpoint, sqs: endpoint } }));
    const emptyDir = path.join(f.dir, 'empty');
    mkdirSync(emptyDir);
    const noAwsConfig = { AWS_CONFIG_FILE: path.join(f.dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: path.join(f.dir, 'none'), AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined };

    const [none, missingFile, unreachable, noRegion, noStack] = await Promise.all([
      cli(['subscriptions', 'list', '--tenant', 'acme-shop'], { cwd: emptyDir }),
      cli(['dlq', 'list', '--local', 'nope.json'], { cwd: emptyDir }),
      cli(['dlq', 'list', '--local', stale]),
      cli(['subscriptions', 'list', '--tenant', 'acme-shop', '--stack', 'StatusHooks'], { env: noAwsConfig }),
      cli(['subscriptions', 'list', '--tenant', 'acme-shop', '--stack', 'NoSuchStack'], { env: { ...noAwsConfig, ...stackEnv(f) } }),
    ]);

    // It names the folder the search started from (and went up from, to the filesystem root).
    expect(none.stderr).toBe(
      `error: no target: no --stack given and no local runtime state (.statushooks/dev.json) in ${emptyDir} or any folder above it; start the local runtime with \`npm start\`, or pass --stack <name> or --local <file>\n`,
    );
    expect(missingFile.stderr).toBe(`error: no target: --local nope.json does not exist (${path.join(emptyDir, 'nope.json')})\n`);
    expect(unreachable.stderr).toMatch(new RegExp(`^error: cannot reach local runtime \\(${stale.replace(/[/.]/g, '\\$&')}\\): .*ECONNREFUSED.*npm start.*\\n$`));
    expect(noRegion.stderr).toBe('error: no target: --stack StatusHooks needs an AWS region; set AWS_REGION (or a profile with a region via AWS_PROFILE)\n');
    expect(noStack.stderr).toBe('error: no target: stack NoSuchStack (us-east-1) does not exist (CloudFormation DescribeStacks)\n');
    for (const r of [none, missingFile, unreachable, noRegion, noStack]) {
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
  });
});

/** The usual AWS environment, pointed at the fixture: CloudFormation answers DescribeStacks with its outputs. */
function stackEnv(fx: Fixture): Record<string, string> {
  return {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_CLOUDFORMATION: fx.state.fakeAws,
    AWS_ENDPOINT_URL_DYNAMODB: fx.state.endpoints.dynamodb,
    AWS_ENDPOINT_URL_SQS: fx.state.endpoints.sqs,
    AWS_ENDPOINT_URL_EVENTBRIDGE: fx.state.endpoints.eventbridge,
  };
}

test('--stack reads the outputs through DescribeStacks and refuses http and private URLs unless told the stack allows them', async () => {
  const stack = ['--stack', 'StatusHooksCliTest', '--json'];
  const create = (url: string, ...extra: string[]) =>
    cli(['subscriptions', 'create', '--tenant', 'stack-tenant', '--url', url, '--events', '*', ...stack, ...extra], { env: stackEnv(f) });

  const [plainHttp, privateHost, publicHttps, allowed] = await Promise.all([
    create('http://hooks.example.com/in'),
    create('https://10.1.2.3/in'),
    create('https://hooks.example.com/in'),
    create('http://127.0.0.1:8080/in', '--allow-private', '--allow-http'),
  ]);

  expect(plainHttp.code).toBe(2);
  expect(plainHttp.stderr).toContain('--url: scheme "http" is not allowed (only https) (a deployed stack refuses plain http and private hosts');
  expect(privateHost.code).toBe(2);
  expect(privateHost.stderr).toContain('--url: address 10.1.2.3 is not public (private)');
  expect(publicHttps.code).toBe(0);
  expect(allowed.code).toBe(0);
  const items = await scanTable(f);
  expect(items.filter((i) => i.tenantId === 'stack-tenant').map((i) => i.url).sort()).toEqual(['http://127.0.0.1:8080/in', 'https://hooks.example.com/in']);
  expect(json(publicHttps)).toMatchObject({ tenantId: 'stack-tenant', url: 'https://hooks.example.com/in', state: 'active' });
});

describe('--stack knows the endpoint policy from the AllowPrivateEndpoints / AllowHttpEndpoints outputs', () => {
  const createOn = (stackName: string, url: string, ...extra: string[]) =>
    cli(['subscriptions', 'create', '--tenant', `policy-${stackName}`, '--url', url, '--events', '*', '--stack', stackName, '--json', ...extra], { env: stackEnv(f) });

  test('a stack deployed with both allowed accepts a private http URL without --allow-private / --allow-http, and says nothing', async () => {
    const r = await createOn('StatusHooksCliTestOpen', 'http://10.1.2.3:8080/in');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(json(r)).toMatchObject({ url: 'http://10.1.2.3:8080/in', state: 'active' });
  });

  test('a strict stack refuses them; the flags still override it, with a warning on stderr naming the stack', async () => {
    const [refused, overridden] = await Promise.all([
      createOn('StatusHooksCliTest', 'http://10.9.9.9/in'),
      createOn('StatusHooksCliTest', 'http://10.9.9.9/in', '--allow-private', '--allow-http'),
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--url: scheme "http" is not allowed');
    expect(overridden.code).toBe(0);
    expect(overridden.stderr).toBe(
      'warning: --allow-private overrides stack StatusHooksCliTest (us-east-1), deployed with allowPrivateEndpoints=false: its delivery function will refuse this URL\n' +
        'warning: --allow-http overrides stack StatusHooksCliTest (us-east-1), deployed with allowHttpEndpoints=false: its delivery function will refuse this URL\n',
    );
  });

  test('a stack deployed before the outputs existed is taken as strict; the flags allow without a warning', async () => {
    const [refused, allowed] = await Promise.all([
      createOn('StatusHooksCliTestLegacy', 'https://192.168.1.1/in'),
      createOn('StatusHooksCliTestLegacy', 'https://192.168.1.1/in', '--allow-private'),
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--url: address 192.168.1.1 is not public (private)');
    expect(allowed).toMatchObject({ code: 0, stderr: '' });
  });

  test('update checks a new URL against the stack outputs too', async () => {
    const created = json<{ subscriptionId: string }>(await createOn('StatusHooksCliTestOpen', 'https://hooks.example.com/in'));
    const update = (stackName: string) =>
      cli(['subscriptions', 'update', created.subscriptionId, '--tenant', 'policy-StatusHooksCliTestOpen', '--url', 'http://127.0.0.1:9000/in', '--stack', stackName, '--json'], { env: stackEnv(f) });
    const onStrict = await update('StatusHooksCliTest');
    expect(onStrict.code).toBe(2);
    const onOpen = await update('StatusHooksCliTestOpen');
    expect(onOpen).toMatchObject({ code: 0, stderr: '' });
    expect(json(onOpen)).toMatchObject({ url: 'http://127.0.0.1:9000/in' });
  });
});

test('usage errors exit 2 (commander\'s too); --help exits 0', async () => {
  const [bothTargets, unknownOption, badLimit, nestedHelp] = await Promise.all([
    cli(['dlq', 'list', '--stack', 'X', '--local', f.devFile]),
    cli(['subscriptions', 'list', '--tenant', 'a', '--bogus', ...f.local]),
    cli(['dlq', 'redrive', '--max', '0', ...f.local]),
    cli(['dlq', 'redrive', '--help']),
  ]);
  expect(bothTargets).toMatchObject({ code: 2, stderr: 'error: use either --stack or --local, not both\n' });
  expect(unknownOption.code).toBe(2);
  expect(unknownOption.stderr).toContain("error: unknown option '--bogus'");
  expect(badLimit.code).toBe(2);
  expect(badLimit.stderr).toContain('expected a whole number ≥ 1, got "0"');
  expect(nestedHelp.code).toBe(0);
  expect(nestedHelp.stdout).toContain('Usage: statushooks dlq redrive [options]');
  expect(nestedHelp.stdout).toContain('original event id');
});
