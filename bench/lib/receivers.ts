/**
 * Webhook receivers of the isolation bench, all on 127.0.0.1 (port 0):
 *
 * - `HealthyReceiver`: verifies the Standard Webhooks signature, notes when each entity uuid first
 *   arrived, answers 200 after a fixed delay (≈ a real endpoint's processing time);
 * - `BlackHole`: accepts the TCP connection, reads what comes, never answers (a hung server);
 * - `SlowReceiver`: answers 204, correctly, but only after a long delay.
 *
 * Times are `performance.now()` of this process (the runtime's main thread): the bench puts its
 * events from the same clock.
 */
import http from 'node:http';
import net from 'node:net';
import { Webhook } from 'standardwebhooks';

/** Closes a server and every socket it still holds, so that `stop()` never waits on a hung client. */
class Sockets {
  private readonly open = new Set<net.Socket>();
  track(socket: net.Socket): void {
    this.open.add(socket);
    socket.on('close', () => this.open.delete(socket));
  }
  destroyAll(): void {
    for (const s of this.open) s.destroy();
  }
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as net.AddressInfo).port;
}

async function close(server: net.Server, sockets: Sockets): Promise<void> {
  const closed = new Promise<void>((r) => server.close(() => r()));
  sockets.destroyAll();
  await closed;
}

function headersOf(req: http.IncomingMessage): Record<string, string> {
  return Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
}

/** The entity uuid of a webhook body (docs/architecture.md §2: `{ event, oldStatus, newStatus, <entity>: { number, uuid, externalId } }`). */
export function uuidOfBody(body: string): string | undefined {
  const parsed = JSON.parse(body) as Record<string, unknown>;
  for (const value of Object.values(parsed)) {
    if (value && typeof value === 'object' && typeof (value as { uuid?: unknown }).uuid === 'string') return (value as { uuid: string }).uuid;
  }
  return undefined;
}

export class HealthyReceiver {
  /** First arrival (performance.now()) per entity uuid. */
  readonly firstArrival = new Map<string, number>();
  /** Every request, duplicates included. */
  requests = 0;
  /** Requests whose signature or body did not check out (the bench treats any as broken). */
  readonly problems: string[] = [];
  private readonly server: http.Server;
  private readonly sockets = new Sockets();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly webhook: Webhook;
  url = '';

  private constructor(secret: string, answerAfterMs: number) {
    this.webhook = new Webhook(secret);
    this.server = http.createServer((req, res) => {
      const at = performance.now();
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.requests++;
        const body = Buffer.concat(chunks).toString('utf8');
        try {
          this.webhook.verify(body, headersOf(req));
          const uuid = uuidOfBody(body);
          if (uuid === undefined) throw new Error('no entity uuid in the body');
          if (!this.firstArrival.has(uuid)) this.firstArrival.set(uuid, at);
        } catch (error) {
          if (this.problems.length < 10) this.problems.push(error instanceof Error ? error.message : String(error));
          res.writeHead(400).end();
          return;
        }
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          if (!res.destroyed) res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        }, answerAfterMs);
        this.timers.add(timer);
      });
    });
    this.server.on('connection', (s) => this.sockets.track(s));
  }

  static async start(secret: string, answerAfterMs: number): Promise<HealthyReceiver> {
    const r = new HealthyReceiver(secret, answerAfterMs);
    r.url = `http://127.0.0.1:${await listen(r.server)}/hook`;
    return r;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await close(this.server, this.sockets);
  }
}

/** Accepts connections and never answers: the sender can only give up by its own timeout. */
export class BlackHole {
  /** Connections accepted; the sender cannot reuse a socket that never answered, so ≈ attempts. */
  connections = 0;
  private readonly server: net.Server;
  private readonly sockets = new Sockets();
  url = '';

  private constructor() {
    this.server = net.createServer((socket) => {
      this.connections++;
      this.sockets.track(socket);
      socket.on('data', () => undefined);
      socket.on('error', () => undefined);
    });
  }

  static async start(): Promise<BlackHole> {
    const b = new BlackHole();
    b.url = `http://127.0.0.1:${await listen(b.server)}/hook`;
    return b;
  }

  async stop(): Promise<void> {
    await close(this.server, this.sockets);
  }
}

/** Answers 204 to everything, after `answerAfterMs`. */
export class SlowReceiver {
  requests = 0;
  answered = 0;
  private readonly server: http.Server;
  private readonly sockets = new Sockets();
  private readonly timers = new Set<NodeJS.Timeout>();
  url = '';

  private constructor(answerAfterMs: number) {
    this.server = http.createServer((req, res) => {
      req.on('data', () => undefined);
      req.on('end', () => {
        this.requests++;
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          if (!res.destroyed) {
            res.writeHead(204).end();
            this.answered++;
          }
        }, answerAfterMs);
        this.timers.add(timer);
      });
    });
    this.server.on('connection', (s) => this.sockets.track(s));
  }

  static async start(answerAfterMs: number): Promise<SlowReceiver> {
    const s = new SlowReceiver(answerAfterMs);
    s.url = `http://127.0.0.1:${await listen(s.server)}/hook`;
    return s;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await close(this.server, this.sockets);
  }
}
