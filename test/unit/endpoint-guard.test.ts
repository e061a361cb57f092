import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { HttpSender } from '../../lambdas/adapters/http-sender';
import { checkAddress, checkUrl, redactUrl } from '../../lambdas/core/endpoint-guard';
import { EndpointBlockedError } from '../../lambdas/core/errors';

const deployed = { allowPrivate: false, allowHttp: false };
const local = { allowPrivate: true, allowHttp: true };

function blocked(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EndpointBlockedError);
    return (error as Error).message;
  }
  throw new Error('expected the endpoint to be blocked');
}

describe('endpoint guard: URLs', () => {
  it('accepts a public https URL', () => {
    expect(checkUrl('https://hooks.example.com/in?x=1', deployed).hostname).toBe('hooks.example.com');
    expect(checkUrl('https://93.184.216.34/hook', deployed).hostname).toBe('93.184.216.34');
  });

  it('a URL without a scheme is refused with what is expected, never echoed (it may hold a token)', () => {
    for (const raw of ['hooks.acme.example/statushooks/tok3n5ecret', 'not-a-url']) {
      expect(() => checkUrl(raw, deployed)).toThrow(new EndpointBlockedError('not a valid URL: an absolute URL with its scheme is expected, such as https://hooks.example.com/statushooks'));
    }
  });

  it.each([
    ['plain http', 'http://hooks.example.com/in', 'scheme "http" is not allowed'],
    ['ftp', 'ftp://hooks.example.com/in', 'scheme "ftp"'],
    ['garbage', 'not a url', 'not a valid URL'],
    ['credentials', 'https://user:pw@hooks.example.com/', 'credentials in the URL'],
    ['localhost', 'https://localhost/hook', 'local name'],
    ['a single-label name', 'https://intranet/hook', 'local name'],
    ['loopback', 'https://127.0.0.1/hook', 'loopback'],
    ['loopback in decimal', 'https://2130706433/hook', 'loopback'],
    ['private 10/8', 'https://10.1.2.3/hook', 'private'],
    ['private 172.16/12', 'https://172.20.0.1/hook', 'private'],
    ['private 192.168/16', 'https://192.168.1.1/hook', 'private'],
    ['the metadata service', 'https://169.254.169.254/latest/meta-data', 'linkLocal'],
    ['carrier-grade NAT', 'https://100.64.0.1/', 'carrierGradeNat'],
    ['unspecified', 'https://0.0.0.0/', 'unspecified'],
    ['IPv6 loopback', 'https://[::1]/hook', 'loopback'],
    ['IPv6 unique local', 'https://[fd12:3456::1]/', 'uniqueLocal'],
    ['the EC2 metadata service over IPv6', 'https://[fd00:ec2::254]/', 'AWS instance service'],
    ['IPv6 link-local', 'https://[fe80::1]/', 'linkLocal'],
    ['IPv4-mapped private IPv6', 'https://[::ffff:10.0.0.1]/', 'private'],
    ['IPv4-mapped loopback in hex', 'https://[::ffff:7f00:1]/', 'loopback'],
    ['multicast', 'https://224.0.0.1/', 'multicast'],
    ['IPv4-compatible loopback', 'https://[::7f00:1]/', 'loopback'],
    ['IPv4-compatible private', 'https://[::10.0.0.1]/', 'private'],
    ['NAT64 of a private address', 'https://[64:ff9b::a00:1]/', 'rfc6052'],
  ])('blocks %s', (_label, url, reason) => {
    expect(blocked(() => checkUrl(url, deployed))).toContain(reason);
  });

  it('allows private http targets where the stack allows them (local runtime)', () => {
    expect(checkUrl('http://127.0.0.1:8080/hook', local).port).toBe('8080');
    expect(checkUrl('http://localhost:8080/hook', local).hostname).toBe('localhost');
    expect(checkUrl('http://10.1.2.3/hook', local).hostname).toBe('10.1.2.3');
    expect(checkUrl('http://[fd00::1]/hook', local).hostname).toBe('[fd00::1]');
  });

  it.each([
    ['the metadata service', 'http://169.254.169.254/latest/meta-data', 'linkLocal'],
    ['the IPv6 link-local range', 'http://[fe80::1]/', 'linkLocal'],
    ['the EC2 metadata service over IPv6', 'http://[fd00:ec2::254]/latest/meta-data', 'AWS instance service'],
    ['unspecified', 'http://0.0.0.0:8080/', 'unspecified'],
    ['multicast', 'http://239.1.1.1/', 'multicast'],
    ['broadcast', 'http://255.255.255.255/', 'broadcast'],
  ])('blocks %s even where private targets are allowed', (_label, url, reason) => {
    expect(blocked(() => checkUrl(url, local))).toContain(reason);
  });

  it('keeps query strings and credentials out of logs', () => {
    expect(redactUrl('https://u:p@hooks.example.com/in?token=secret#x')).toBe('https://hooks.example.com/in?…');
  });

  it('judges resolved addresses the same way', () => {
    expect(() => checkAddress('8.8.8.8', deployed)).not.toThrow();
    expect(() => checkAddress('2606:4700:4700::1111', deployed)).not.toThrow();
    expect(blocked(() => checkAddress('192.168.0.10', deployed))).toContain('private');
    expect(() => checkAddress('192.168.0.10', local)).not.toThrow();
  });
});

describe('HTTP sender', () => {
  let server: http.Server;
  let port: number;
  const seen: { path: string; headers: http.IncomingHttpHeaders; body: string; remote: string }[] = [];
  let respond: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_req, res) => res.end('ok');

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ path: req.url ?? '', headers: req.headers, body, remote: req.socket.remoteAddress ?? '' });
        respond(req, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => {
    seen.length = 0;
    respond = (_req, res) => res.end('ok');
  });

  const request = (url: string) => ({ url: new URL(url), headers: { 'content-type': 'application/json', 'webhook-id': 'msg_1' }, body: '{"a":1}' });

  it('posts the body and headers and reports the status', async () => {
    const sender = new HttpSender({ policy: local, timeoutMs: 2000, connectTimeoutMs: 1000 });
    const result = await sender.send(request(`http://127.0.0.1:${port}/hook?x=1`));
    sender.close();
    expect(result).toMatchObject({ kind: 'response', status: 200 });
    expect(seen[0]).toMatchObject({ path: '/hook?x=1', body: '{"a":1}' });
    expect(seen[0]!.headers['webhook-id']).toBe('msg_1');
  });

  it('refuses a name that resolves to a private address, before connecting', async () => {
    const sender = new HttpSender({ policy: { allowPrivate: false, allowHttp: true }, timeoutMs: 2000, connectTimeoutMs: 1000, resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    const result = await sender.send(request(`http://rebind.example.com:${port}/hook`));
    sender.close();
    expect(result).toMatchObject({ kind: 'error', error: 'blocked' });
    expect(seen).toHaveLength(0);
  });

  it('refuses a name if any of its addresses is private (DNS rebinding)', async () => {
    const sender = new HttpSender({
      policy: { allowPrivate: false, allowHttp: true },
      timeoutMs: 2000,
      connectTimeoutMs: 1000,
      resolve: async () => [
        { address: '93.184.216.34', family: 4 },
        { address: '10.0.0.7', family: 4 },
      ],
    });
    const result = await sender.send(request('http://mixed.example.com/hook'));
    sender.close();
    expect(result).toMatchObject({ kind: 'error', error: 'blocked', message: expect.stringContaining('10.0.0.7') });
  });

  it('connects to the address that was checked', async () => {
    const sender = new HttpSender({ policy: local, timeoutMs: 2000, connectTimeoutMs: 1000, resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    const result = await sender.send(request(`http://receiver.example.com:${port}/hook`));
    sender.close();
    expect(result).toMatchObject({ kind: 'response', status: 200 });
    expect(seen[0]!.headers.host).toBe(`receiver.example.com:${port}`);
    expect(seen[0]!.remote).toBe('127.0.0.1');
  });

  it('does not follow redirects', async () => {
    respond = (_req, res) => {
      res.writeHead(302, { location: '/elsewhere' });
      res.end();
    };
    const sender = new HttpSender({ policy: local, timeoutMs: 2000, connectTimeoutMs: 1000 });
    const result = await sender.send(request(`http://127.0.0.1:${port}/hook`));
    sender.close();
    expect(result).toMatchObject({ kind: 'response', status: 302 });
    expect(seen.map((s) => s.path)).toEqual(['/hook']);
  });

  it('gives up after the total timeout on a receiver that hangs', async () => {
    respond = () => undefined; // never answers
    const sender = new HttpSender({ policy: local, timeoutMs: 300, connectTimeoutMs: 200 });
    const result = await sender.send(request(`http://127.0.0.1:${port}/slow`));
    sender.close();
    expect(result).toMatchObject({ kind: 'error', error: 'timeout' });
    expect(result.durationMs).toBeGreaterThanOrEqual(250);
    expect(result.durationMs).toBeLessThan(2000);
  });

  it('reports a refused connection as a connection error', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const sender = new HttpSender({ policy: local, timeoutMs: 1000, connectTimeoutMs: 500 });
    const result = await sender.send(request(`http://127.0.0.1:${deadPort}/`));
    sender.close();
    expect(result).toMatchObject({ kind: 'error', error: 'connection', message: expect.stringContaining('ECONNREFUSED') });
  });

  it('reports a name that does not resolve as a DNS error', async () => {
    const sender = new HttpSender({
      policy: local,
      timeoutMs: 1000,
      connectTimeoutMs: 500,
      resolve: async () => {
        throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.invalid'), { code: 'ENOTFOUND' });
      },
    });
    const result = await sender.send(request('http://nowhere.invalid/'));
    sender.close();
    expect(result).toMatchObject({ kind: 'error', error: 'dns' });
  });

  it('passes Retry-After through', async () => {
    respond = (_req, res) => {
      res.writeHead(429, { 'retry-after': '42' });
      res.end();
    };
    const sender = new HttpSender({ policy: local, timeoutMs: 1000, connectTimeoutMs: 500 });
    const result = await sender.send(request(`http://127.0.0.1:${port}/`));
    sender.close();
    expect(result).toMatchObject({ kind: 'response', status: 429, retryAfter: '42' });
  });

  it('ends an attempt whose endpoint switches protocols (101 with Upgrade) with that status, and keeps sending', async () => {
    // A raw server: Node's own would not answer a POST with 101 Switching Protocols.
    const requests: string[] = [];
    const upgrading = net.createServer((socket) => {
      socket.once('data', (chunk) => {
        requests.push(chunk.toString('latin1').split('\r\n')[0]!);
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => upgrading.listen(0, '127.0.0.1', resolve));
    const upgradingPort = (upgrading.address() as AddressInfo).port;
    const sender = new HttpSender({ policy: local, timeoutMs: 2000, connectTimeoutMs: 1000 });
    try {
      // Both to the upgrading endpoint at once (a batch), then a healthy one.
      const results = await Promise.all([1, 2].map(() => sender.send(request(`http://127.0.0.1:${upgradingPort}/ws`))));
      expect(results).toEqual([1, 2].map(() => expect.objectContaining({ kind: 'response', status: 101, response: null })));
      expect(requests).toEqual(['POST /ws HTTP/1.1', 'POST /ws HTTP/1.1']);
      expect(await sender.send(request(`http://127.0.0.1:${port}/after`))).toMatchObject({ kind: 'response', status: 200 });
    } finally {
      sender.close();
      await new Promise((resolve) => upgrading.close(resolve));
    }
  });

  it('ends an attempt whose connection closes before any answer as a connection error', async () => {
    const closing = net.createServer((socket) => socket.once('data', () => socket.destroy()));
    await new Promise<void>((resolve) => closing.listen(0, '127.0.0.1', resolve));
    const sender = new HttpSender({ policy: local, timeoutMs: 2000, connectTimeoutMs: 1000 });
    try {
      const result = await sender.send(request(`http://127.0.0.1:${(closing.address() as AddressInfo).port}/`));
      expect(result).toMatchObject({ kind: 'error', error: 'connection', message: expect.stringContaining('socket hang up') });
    } finally {
      sender.close();
      await new Promise((resolve) => closing.close(resolve));
    }
  });

  it('reuses kept-alive connections across deliveries', async () => {
    const sender = new HttpSender({ policy: local, timeoutMs: 2000, connectTimeoutMs: 1000 });
    const ports = new Set<number>();
    const track = (req: http.IncomingMessage) => ports.add(req.socket.remotePort ?? 0);
    server.on('request', track);
    for (let i = 0; i < 5; i++) await sender.send(request(`http://127.0.0.1:${port}/`));
    sender.close();
    server.off('request', track);
    expect(ports.size).toBe(1);
  });
});
