import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';

/**
 * The console's security model (README, "Console"):
 * - it listens on 127.0.0.1 only, and answers only requests whose Host is 127.0.0.1:<port> or
 *   localhost:<port> (a DNS-rebinding page cannot talk to it under another name);
 * - every request carries the session token: the printed URL's `?token=` (it also sets an HttpOnly
 *   SameSite=Strict cookie, which carries it from then on; the page strips it from the address
 *   bar), the cookie, or `Authorization: Bearer <token>` for scripts; 401 otherwise;
 * - a request that changes anything is a POST from the console's own origin (Sec-Fetch-Site
 *   same-origin, Origin its own or "null" as no-referrer makes it) with the session's CSRF token;
 * - every response forbids inline scripts and styles, framing, sniffing, referrers and caching.
 */

export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** The form field that carries the CSRF token. */
export const CSRF_FIELD = '_csrf';

export class Session {
  /** 32 random bytes, base64url: what the printed URL carries. */
  readonly token = randomBytes(32).toString('base64url');
  /** Derived from the token: a form can carry it without carrying the token itself. */
  readonly csrfToken = createHmac('sha256', this.token).update('statushooks console csrf').digest('base64url');

  constructor(readonly port: number) {}

  /** Cookies are shared by every port of a host: the name keeps two consoles apart. */
  get cookieName(): string {
    return `statushooks_console_${this.port}`;
  }

  get origins(): readonly string[] {
    return [`http://127.0.0.1:${this.port}`, `http://localhost:${this.port}`];
  }

  get hosts(): readonly string[] {
    return [`127.0.0.1:${this.port}`, `localhost:${this.port}`];
  }

  isToken(candidate: string | undefined): boolean {
    return equal(candidate, this.token);
  }

  isCsrfToken(candidate: string | undefined): boolean {
    return equal(candidate, this.csrfToken);
  }
}

/** Constant-time comparison of a candidate with a secret (different lengths are simply unequal). */
function equal(candidate: string | undefined, secret: string): boolean {
  if (typeof candidate !== 'string') return false;
  const a = Buffer.from(candidate);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

function refuse(c: Context, status: 400 | 401 | 403 | 405, text: string): Response {
  return c.text(text, status);
}

/** Security headers on every response, refusals included. */
export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
  };
}

/** Host check, session token (query once, then cookie) and, for anything but GET/HEAD, the same-origin and CSRF checks. */
export function guard(session: Session): MiddlewareHandler {
  return async (c, next) => {
    const host = c.req.header('host');
    if (host === undefined || !session.hosts.includes(host.toLowerCase())) {
      return refuse(c, 403, `403: this console answers only at ${session.origins.join(' or ')} (Host "${host ?? ''}" refused)\n`);
    }
    const queryToken = new URL(c.req.url).searchParams.get('token');
    if (queryToken !== null) {
      if ((c.req.method !== 'GET' && c.req.method !== 'HEAD') || !session.isToken(queryToken)) return refuse(c, 401, '401: wrong or missing session token; open the URL `statushooks console` printed\n');
      // The page is served at once, so any client that has the printed URL gets it (curl, fetch,
      // a browser). From now on a cookie carries the token; the page's script takes it out of the
      // address bar and the history (history.replaceState), and no-referrer keeps it out of
      // Referer headers.
      setCookie(c, session.cookieName, session.token, { httpOnly: true, sameSite: 'Strict', path: '/' });
      return next();
    }
    const bearer = /^Bearer (\S+)$/.exec(c.req.header('authorization') ?? '')?.[1];
    if (!session.isToken(getCookie(c, session.cookieName)) && !session.isToken(bearer)) {
      return refuse(c, 401, '401: this console needs its session token; open the URL `statushooks console` printed\n');
    }
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD') return next();
    if (method !== 'POST') return refuse(c, 405, '405: only GET and POST\n');
    // A browser says where a request comes from in Sec-Fetch-Site (pages cannot set it) and, for a
    // form post, in Origin. Under Referrer-Policy no-referrer a form post's Origin is "null": that
    // passes only with Sec-Fetch-Site same-origin. A client without either header is no browser, so
    // no cross-site victim; it still needs the cookie and the CSRF token.
    const origin = c.req.header('origin');
    const site = c.req.header('sec-fetch-site');
    if (site !== undefined && site !== 'same-origin') return refuse(c, 403, `403: cross-site request refused (Sec-Fetch-Site ${site})\n`);
    const ownOrigin = origin === undefined || session.origins.includes(origin) || (origin === 'null' && site === 'same-origin');
    if (!ownOrigin) return refuse(c, 403, `403: cross-site request refused (Origin ${origin})\n`);
    const type = c.req.header('content-type') ?? '';
    if (!/^application\/x-www-form-urlencoded\b|^multipart\/form-data\b/i.test(type)) return refuse(c, 403, '403: a form post is expected\n');
    let body: Awaited<ReturnType<typeof c.req.parseBody>>;
    try {
      body = await c.req.parseBody({ all: true });
    } catch {
      return refuse(c, 400, '400: the form body could not be read\n');
    }
    const csrf = body[CSRF_FIELD];
    if (!session.isCsrfToken(typeof csrf === 'string' ? csrf : undefined)) return refuse(c, 403, '403: missing or wrong CSRF token; reload the page and try again\n');
    return next();
  };
}
