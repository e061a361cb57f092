import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import http from 'node:http';
import { getRequestListener, RequestError } from '@hono/node-server';
import type { Target, TargetOptions } from '../target';
import { consoleApp } from './app';
import { SECURITY_HEADERS, Session } from './security';

export interface RunningConsole {
  /** `http://127.0.0.1:<port>/?token=<token>`: the one URL that opens a session. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves the console on 127.0.0.1 only (port 0: one the system picks). The session, and with it
 * the token, lives as long as the process.
 */
export async function startConsole(target: Target, options: TargetOptions, port = 0): Promise<RunningConsole> {
  // The app needs the port (the session's Host, Origin and cookie name), known once the server listens.
  const serving: { fetch?: (request: Request) => Response | Promise<Response> } = {};
  // A request that never reaches the app gets the same headers as every other answer: one Hono
  // cannot turn into a Request (a Host that is no host name, e.g. `a b`) and one Node's parser
  // refuses (a broken header line), instead of the bare answers of @hono/node-server and Node.
  const listener = getRequestListener((request: Request) => serving.fetch!(request), {
    hostname: '127.0.0.1',
    errorHandler: (error) => {
      const [status, text] = error instanceof RequestError ? [400, 'Bad Request'] : [500, 'Internal Server Error'];
      return new Response(`${text}\n`, { status, headers: { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' } });
    },
  });
  const server = http.createServer((req, res) => void listener(req, res));
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    const body = `${status.slice(4)}\n`;
    const headers = { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close' };
    socket.end(`HTTP/1.1 ${status}\r\n${Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n${body}`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  const session = new Session(actual);
  const { app, close } = consoleApp({ target, options, session });
  serving.fetch = (request) => app.fetch(request);
  return {
    url: `http://127.0.0.1:${actual}/?token=${session.token}`,
    port: actual,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      close();
    },
  };
}
