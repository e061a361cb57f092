import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Target, TargetOptions } from '../target';
import { consoleApp } from './app';
import { Session } from './security';

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
  const server = createAdaptorServer({ fetch: (request: Request) => serving.fetch!(request), hostname: '127.0.0.1' });
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
