import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpSender } from '../../lambdas/adapters/http-sender';

/**
 * What the delivery log shows of a large answer: the sender reads at most 64 KB of a body (to free
 * the socket) and never claims that was all of it.
 */
const SIZE = 300_000;
let server: http.Server;
let base = '';
const sender = new HttpSender({ policy: { allowPrivate: true, allowHttp: true }, timeoutMs: 5000, connectTimeoutMs: 1000 });

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const body = Buffer.alloc(SIZE, 'y');
    if (req.url === '/declared') res.writeHead(200, { 'content-length': String(SIZE) }).end(body);
    else if (req.url === '/chunked') {
      // No Content-Length: the size is known only by reading to the end.
      res.writeHead(200);
      for (let at = 0; at < SIZE; at += 10_000) res.write(body.subarray(at, at + 10_000));
      res.end();
    } else res.writeHead(200, { 'content-length': '5000' }).end(Buffer.alloc(5000, 'z'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  sender.close();
  await new Promise((resolve) => server.close(resolve));
});

const post = (path: string) => sender.send({ url: new URL(`${base}${path}`), headers: { 'content-type': 'application/json' }, body: '{}' });

test('an answer larger than the sender reads keeps its declared size', async () => {
  await expect(post('/declared')).resolves.toMatchObject({ kind: 'response', status: 200, response: `${'y'.repeat(1024)}… [${SIZE} bytes in all]` });
});

test('without a Content-Length, the size of an answer read only in part says "more than"', async () => {
  const result = await post('/chunked');
  expect(result).toMatchObject({ kind: 'response', status: 200 });
  const response = (result as { response: string }).response;
  const shown = /… \[more than (\d+) bytes in all\]$/.exec(response);
  expect(shown).not.toBeNull();
  expect(Number(shown![1])).toBeGreaterThan(64 * 1024);
  expect(Number(shown![1])).toBeLessThan(SIZE);
});

test('an answer read to its end states its exact size, as before', async () => {
  await expect(post('/small')).resolves.toMatchObject({ kind: 'response', status: 200, response: `${'z'.repeat(1024)}… [5000 bytes in all]` });
});
