import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpSender } from '../../lambdas/adapters/http-sender';
import { checkUrl } from '../../lambdas/core/endpoint-guard';

/**
 * Defence in depth: the sender refuses by itself what the endpoint guard refuses, even when its
 * caller never ran `checkUrl` — IP literals included, which Node connects to without a lookup.
 */
let server: http.Server;
let port = 0;
let connections = 0;

beforeAll(async () => {
  server = http.createServer((_req, res) => res.writeHead(204).end());
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

const request = (url: string) => ({ url: new URL(url), headers: { 'content-type': 'application/json' }, body: '{}' });

describe('HttpSender refuses what the guard refuses, whoever calls it', () => {
  const deny = new HttpSender({ policy: { allowPrivate: false, allowHttp: true }, timeoutMs: 2000, connectTimeoutMs: 1000 });
  afterAll(() => deny.close());

  it.each([
    ['loopback literal', () => `http://127.0.0.1:${port}/in`],
    ['decimal IPv4', () => `http://2130706433:${port}/in`],
    ['hex IPv4', () => `http://0x7f.0.0.1:${port}/in`],
    ['octal IPv4', () => `http://0177.0.0.1:${port}/in`],
    ['IPv6 loopback', () => `http://[::1]:${port}/in`],
    ['IPv4-mapped IPv6', () => `http://[::ffff:127.0.0.1]:${port}/in`],
    ['metadata service', () => 'http://169.254.169.254/latest/meta-data/'],
    ['localhost with trailing dots', () => `http://localhost..:${port}/in`],
    ['credentials in the URL', () => `http://user:pw@example.com:${port}/in`],
    ['another scheme', () => `ftp://127.0.0.1:${port}/in`],
  ])('%s: blocked, no connection made', async (_label, url) => {
    const before = connections;
    const result = await deny.send(request(url()));
    expect(result).toMatchObject({ kind: 'error', error: 'blocked' });
    expect(connections).toBe(before);
  });

  it('connects when the policy allows loopback (positive control)', async () => {
    const allow = new HttpSender({ policy: { allowPrivate: true, allowHttp: true }, timeoutMs: 2000, connectTimeoutMs: 1000 });
    const before = connections;
    await expect(allow.send(request(`http://127.0.0.1:${port}/in`))).resolves.toMatchObject({ kind: 'response', status: 204 });
    expect(connections).toBe(before + 1);
    allow.close();
  });

  it.each(['localhost.', 'localhost..', 'LOCALHOST...', 'db.internal..', 'printer.local.'])('the local-name check ignores trailing dots: %s', (host) => {
    expect(() => checkUrl(`https://${host}/in`, { allowPrivate: false, allowHttp: false })).toThrow('is a local name');
  });
});
