/**
 * The console's guard on its own (cli/console/security.ts): which requests get through to a page
 * and which are refused, and with which headers every answer leaves.
 */
import { Hono } from 'hono';
import { CONTENT_SECURITY_POLICY, CSRF_FIELD, Session, guard, securityHeaders } from '../../cli/console/security';

const session = new Session(4321);
const app = new Hono();
app.use('*', securityHeaders());
app.use('*', guard(session));
app.get('*', (c) => c.text('page'));
app.post('*', (c) => c.text('done'));

const cookie = `${session.cookieName}=${session.token}`;
const host = '127.0.0.1:4321';
const form = { 'content-type': 'application/x-www-form-urlencoded' };
const get = (path: string, headers: Record<string, string> = {}) => app.request(`http://${host}${path}`, { headers: { host, ...headers } });
const post = (headers: Record<string, string>, body: string) => app.request(`http://${host}/x`, { method: 'POST', headers: { host, cookie, ...form, ...headers }, body });

test('the token is 32 random bytes in base64url, new for every session, and the CSRF token is not the token', () => {
  expect(session.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(new Session(4321).token).not.toBe(session.token);
  expect(session.csrfToken).not.toBe(session.token);
  expect(session.cookieName).toBe('statushooks_console_4321');
});

test('the token in the query opens the page at once and sets the cookie that carries it from then on', async () => {
  const res = await get(`/dlq?token=${session.token}&x=1`);
  expect(res.status).toBe(200);
  expect(await res.text()).toBe('page');
  expect(res.headers.get('set-cookie')).toBe(`${cookie}; Path=/; HttpOnly; SameSite=Strict`);
});

test('a script may carry the token as a bearer token instead of the cookie', async () => {
  expect((await get('/dlq', { authorization: `Bearer ${session.token}` })).status).toBe(200);
  expect((await get('/dlq', { authorization: `Bearer ${session.token.slice(1)}` })).status).toBe(401);
  expect((await get('/dlq', { authorization: session.token })).status).toBe(401);
});

test('no token, a wrong or truncated one, or one in the query of a POST: 401', async () => {
  expect((await get('/')).status).toBe(401);
  expect((await get('/', { cookie: `${session.cookieName}=${session.token.slice(0, -1)}` })).status).toBe(401);
  expect((await get('/', { cookie: `statushooks_console_9999=${session.token}` })).status).toBe(401);
  expect((await get(`/?token=${session.token}x`)).status).toBe(401);
  const postWithQueryToken = await app.request(`http://${host}/x?token=${session.token}`, { method: 'POST', headers: { host, ...form }, body: `${CSRF_FIELD}=${session.csrfToken}` });
  expect(postWithQueryToken.status).toBe(401);
  expect((await get('/', { cookie })).status).toBe(200);
});

test('localhost:<port> is the console too; any other Host is refused, with the token or not', async () => {
  expect((await get('/', { cookie, host: 'localhost:4321' })).status).toBe(200);
  expect((await get('/', { cookie, host: 'attacker.example:4321' })).status).toBe(403);
  expect((await get('/', { cookie, host: '127.0.0.1:80' })).status).toBe(403);
});

test('a POST needs the CSRF token in a form and no sign of another site; PUT and DELETE are not spoken', async () => {
  const csrf = `${CSRF_FIELD}=${encodeURIComponent(session.csrfToken)}`;
  expect((await post({}, csrf)).status).toBe(200);
  expect((await post({ origin: 'http://localhost:4321', 'sec-fetch-site': 'same-origin' }, csrf)).status).toBe(200);
  expect((await post({ origin: 'null', 'sec-fetch-site': 'same-origin' }, csrf)).status).toBe(200);
  expect((await post({ origin: 'http://127.0.0.1:4322' }, csrf)).status).toBe(403);
  expect((await post({ 'sec-fetch-site': 'same-site' }, csrf)).status).toBe(403);
  expect((await post({}, `${CSRF_FIELD}=${session.token}`)).status).toBe(403);
  expect((await post({ 'content-type': 'text/plain' }, csrf)).status).toBe(403);
  expect((await app.request(`http://${host}/x`, { method: 'DELETE', headers: { host, cookie } })).status).toBe(405);
});

test('a form post whose body cannot be read is a bad request (400), not a server error', async () => {
  for (const type of ['multipart/form-data; boundary=zz', 'multipart/form-data']) {
    const res = await post({ 'content-type': type }, '--zz\r\ngarbage');
    expect(res.status).toBe(400);
    expect(await res.text()).toBe('400: the form body could not be read\n');
  }
});

test('every answer, a refusal too, carries the CSP and the other headers', async () => {
  for (const res of [await get('/'), await get('/', { cookie }), await post({}, '')]) {
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
  }
});
