import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { EndpointPolicy } from '../core/config';
import type { WebhookRequest } from '../core/delivery';
import { checkAddress, checkUrl, hostOf } from '../core/endpoint-guard';
import { EndpointBlockedError } from '../core/errors';
import { RESPONSE_SNIPPET_BYTES, responseSnippet } from '../core/delivery-log';
import type { AttemptResult } from '../core/outcome';

export interface SenderOptions {
  readonly policy: EndpointPolicy;
  /** Whole request, connect included (ms). */
  readonly timeoutMs: number;
  /** TCP (and TLS) connect (ms). */
  readonly connectTimeoutMs: number;
  /** Resolver; injectable so tests can make names resolve to chosen addresses. */
  readonly resolve?: (host: string) => Promise<LookupAddress[]>;
  /** Sockets per origin kept alive between deliveries. */
  readonly maxSocketsPerHost?: number;
  /**
   * Extra certificate authorities to trust, for tests with a local HTTPS receiver only. Deployed
   * functions never set it: they trust Node's public CA bundle and nothing else.
   */
  readonly ca?: string | Buffer;
}

/** How much of a response body is read (to free the socket); the rest is discarded. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * The snippet of a body the sender stopped reading after MAX_RESPONSE_BYTES: its size is the
 * Content-Length the endpoint declared when that is plausible, otherwise "more than" what was read.
 */
function unreadSnippet(head: Buffer, read: number, contentLength: string | undefined): string | null {
  const declared = contentLength !== undefined && /^\d+$/.test(contentLength) ? Number(contentLength) : Number.NaN;
  return Number.isSafeInteger(declared) && declared >= read ? responseSnippet(head, declared) : responseSnippet(head, read, false);
}

const defaultResolve = (host: string) =>
  new Promise<LookupAddress[]>((resolve, reject) => dnsLookup(host, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

/**
 * POSTs webhooks over kept-alive connections. Every connection is made to an address that the
 * endpoint guard approved: the agent's `lookup` resolves the host, refuses the request if ANY
 * address is not allowed (DNS rebinding), and hands the checked address to the socket.
 * Redirects are never followed.
 */
export class HttpSender {
  private readonly agents: { http: http.Agent; https: https.Agent };
  private readonly resolve: (host: string) => Promise<LookupAddress[]>;

  constructor(private readonly options: SenderOptions) {
    this.resolve = options.resolve ?? defaultResolve;
    const lookup = this.guardedLookup();
    const common = { keepAlive: true, maxSockets: options.maxSocketsPerHost ?? 50, lookup, timeout: options.timeoutMs } as const;
    this.agents = { http: new http.Agent(common), https: new https.Agent(options.ca === undefined ? common : { ...common, ca: options.ca }) };
  }

  private guardedLookup(): LookupFunction {
    return (hostname, options, callback) => {
      this.resolve(hostname).then(
        (addresses) => {
          if (addresses.length === 0) throw Object.assign(new Error(`${hostname} has no addresses`), { code: 'ENOTFOUND' });
          for (const a of addresses) checkAddress(a.address, this.options.policy);
          if (options.all) callback(null, addresses);
          else callback(null, addresses[0]!.address, addresses[0]!.family);
        },
        (error: NodeJS.ErrnoException) => callback(error, '', 0),
      ).catch((error: NodeJS.ErrnoException) => callback(error, '', 0));
    };
  }

  /**
   * One attempt. The sender applies the endpoint guard itself, whoever calls it: Node skips the
   * agent's `lookup` for IP-literal hosts, so without this a caller that forgot `checkUrl` could
   * reach 127.0.0.1 or the metadata service.
   */
  send(request: WebhookRequest): Promise<AttemptResult> {
    try {
      checkUrl(request.url.href, this.options.policy);
    } catch (error) {
      if (error instanceof EndpointBlockedError) return Promise.resolve({ kind: 'error', error: 'blocked', message: error.message, durationMs: 0 });
      throw error;
    }
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const isHttps = request.url.protocol === 'https:';
    return new Promise<AttemptResult>((resolve) => {
      let settled = false;
      const finish = (result: AttemptResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(total);
        resolve(result);
      };
      const req = (isHttps ? https : http).request({
        protocol: request.url.protocol,
        hostname: hostOf(request.url),
        port: request.url.port || undefined,
        path: `${request.url.pathname}${request.url.search}`,
        method: 'POST',
        agent: isHttps ? this.agents.https : this.agents.http,
        headers: { ...request.headers, 'content-length': Buffer.byteLength(request.body) },
        // SNI carries names only; an IP-literal endpoint is verified against the certificate's IP SANs.
        servername: isHttps && isIP(hostOf(request.url)) === 0 ? hostOf(request.url) : undefined,
      });
      let answered = false;
      const total = setTimeout(() => {
        req.destroy(timeoutError(`no response within ${this.options.timeoutMs} ms`));
      }, this.options.timeoutMs);
      req.on('socket', (socket) => {
        if ((socket as { connecting?: boolean }).connecting === false) return; // reused keep-alive socket
        const connectTimer = setTimeout(() => {
          req.destroy(timeoutError(`could not connect within ${this.options.connectTimeoutMs} ms`));
        }, this.options.connectTimeoutMs);
        socket.once(isHttps ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
        socket.once('close', () => clearTimeout(connectTimer));
      });
      req.on('response', (res) => {
        answered = true;
        let read = 0;
        let complete = true;
        // The start of the body, for the delivery log; the rest is read only to free the socket.
        const head: Buffer[] = [];
        let headBytes = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (headBytes < RESPONSE_SNIPPET_BYTES) {
            head.push(chunk.subarray(0, RESPONSE_SNIPPET_BYTES - headBytes));
            headBytes += Math.min(chunk.length, RESPONSE_SNIPPET_BYTES - headBytes);
          }
          if (read > MAX_RESPONSE_BYTES && !res.destroyed) {
            complete = false;
            res.destroy();
          }
        });
        const done = () =>
          finish({
            kind: 'response',
            status: res.statusCode ?? 0,
            retryAfter: headerValue(res.headers['retry-after']),
            durationMs: elapsed(),
            response: complete ? responseSnippet(Buffer.concat(head, headBytes), read) : unreadSnippet(Buffer.concat(head, headBytes), read, res.headers['content-length']),
          });
        res.on('end', done);
        res.on('close', done);
        res.on('error', done);
      });
      // An endpoint that switches protocols (101 with `Upgrade`) takes the socket out of HTTP: Node
      // emits 'upgrade', never 'response'. Nothing is delivered over it: close it, report the status.
      req.on('upgrade', (res: http.IncomingMessage, socket: { destroy(): void }) => {
        answered = true;
        socket.destroy();
        finish({ kind: 'response', status: res.statusCode ?? 0, retryAfter: undefined, durationMs: elapsed(), response: null });
      });
      req.on('error', (error: NodeJS.ErrnoException) => finish(toErrorResult(error, elapsed())));
      // Whatever else ends a request without an answer or an error, the attempt still ends now
      // (an answer in progress is settled by its own 'end', 'close' or 'error').
      req.on('close', () => {
        if (!answered) finish({ kind: 'error', error: 'connection', message: 'connection closed without a response', durationMs: elapsed() });
      });
      req.end(request.body);
    });
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}

/**
 * The error of one of our own timeouts. Its stack is set, not captured: Node reads the stack of
 * every error a request is destroyed with, and with --enable-source-maps formatting a captured
 * stack parses the bundle's source map (hundreds of ms of CPU in each new execution environment,
 * measured with a dead endpoint). The message says everything a timeout has to say.
 */
export function timeoutError(message: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(message);
  error.code = 'STATUSHOOKS_TIMEOUT';
  error.stack = `Error: ${message}`;
  return error;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Node's codes for a certificate the sender refused (expired, wrong host, untrusted issuer, …). */
const TLS_CODES = /^(CERT_|ERR_TLS_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(GET|VERIFY|DECRYPT)|INVALID_CA|INVALID_PURPOSE|HOSTNAME_MISMATCH|ERR_SSL_)/;

/**
 * Advice Node.js 24 appends to some certificate errors ("…; if the root CA is installed locally,
 * try running Node.js with --use-system-ca"). It is about the sender's own trust store, nothing the
 * endpoint's owner can act on: the delivery log says what is wrong with the endpoint's certificate.
 */
const NODE_TLS_ADVICE = /;\s*if the root CA is installed locally\b.*$/s;

function toErrorResult(error: NodeJS.ErrnoException, durationMs: number): AttemptResult {
  if (error instanceof EndpointBlockedError) return { kind: 'error', error: 'blocked', message: error.message, durationMs };
  const code = error.code ?? '';
  if (TLS_CODES.test(code)) return { kind: 'error', error: 'tls', message: `${error.message.replace(NODE_TLS_ADVICE, '').replace(/\.$/, '')} (${code})`, durationMs };
  if (code === 'STATUSHOOKS_TIMEOUT' || code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT') return { kind: 'error', error: 'timeout', message: error.message, durationMs };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ENODATA') return { kind: 'error', error: 'dns', message: `${code} ${error.message}`.trim(), durationMs };
  return { kind: 'error', error: 'connection', message: `${code} ${error.message}`.trim(), durationMs };
}
