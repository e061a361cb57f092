/**
 * The signature every webhook carries must verify for receivers, whatever they verify with: the
 * `standardwebhooks` package, a WebCrypto HMAC written from the specification, and Python's
 * standard library (an implementation that shares no code with Node's).
 */
import { spawnSync } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { buildPayload, exampleDetail, parseDetail } from '../../lambdas/core/events';
import { signatureHeaders } from '../../lambdas/core/signing';
import { deliveryIdFor, newSecret } from '../../lambdas/core/subscriptions';

const body = buildPayload(parseDetail('return_order.status.changed', exampleDetail('return_order.status.changed')));
const id = deliveryIdFor('0d4c5b7e-0000-4000-8000-000000000001', 'sub_signing');
const at = new Date('2026-11-28T10:00:00.999Z');

/** Standard Webhooks, from the specification: base64(HMAC-SHA256(base64decode(secret after whsec_), "id.ts.body")). */
async function specSignature(secret: string, msgId: string, timestamp: string, payload: string): Promise<string> {
  const key = await webcrypto.subtle.importKey('raw', Buffer.from(secret.replace(/^whsec_/, ''), 'base64'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await webcrypto.subtle.sign('HMAC', key, new TextEncoder().encode(`${msgId}.${timestamp}.${payload}`));
  return `v1,${Buffer.from(mac).toString('base64')}`;
}

const PYTHON_VERIFY = `
import base64, hmac, hashlib, json, sys
d = json.load(sys.stdin)
key = base64.b64decode(d["secret"][len("whsec_"):])
mac = base64.b64encode(hmac.new(key, ("%s.%s.%s" % (d["id"], d["timestamp"], d["body"])).encode("utf-8"), hashlib.sha256).digest()).decode()
print("ok" if any(hmac.compare_digest(s.split(",", 1)[1], mac) for s in d["signature"].split(" ")) else "mismatch")
`;

function pythonVerifies(secret: string, headers: ReturnType<typeof signatureHeaders>, payload: string): string {
  const run = spawnSync('python3', ['-c', PYTHON_VERIFY], {
    input: JSON.stringify({ secret, id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], signature: headers['webhook-signature'], body: payload }),
    encoding: 'utf8',
  });
  if (run.error) throw run.error;
  return run.stdout.trim() || run.stderr;
}

describe('webhook signatures', () => {
  it('verify with the standardwebhooks package, at the second the request says', () => {
    const secret = newSecret();
    const headers = signatureHeaders(id, body, [secret], at);
    expect(headers['webhook-id']).toBe(id);
    expect(headers['webhook-timestamp']).toBe(String(Math.floor(at.getTime() / 1000)));
    const wh = new Webhook(secret);
    jest.useFakeTimers({ now: at });
    try {
      expect(wh.verify(body, headers)).toEqual(JSON.parse(body));
      // A changed body or another secret does not verify.
      expect(() => wh.verify(body.replace('option_selected', 'rejected'), headers)).toThrow(WebhookVerificationError);
      expect(() => new Webhook(newSecret()).verify(body, headers)).toThrow(WebhookVerificationError);
    } finally {
      jest.useRealTimers();
    }
  });

  it('equal the signature computed from the specification with WebCrypto', async () => {
    const secret = newSecret();
    const headers = signatureHeaders(id, body, [secret], at);
    expect(headers['webhook-signature']).toBe(await specSignature(secret, id, headers['webhook-timestamp'], body));
  });

  it("verify with Python's hmac and hashlib, also for non-ASCII bodies and during a rotation", () => {
    const current = newSecret();
    const previous = newSecret();
    const unicode = body.replace('100004', 'Müller-Ø-雪-🙂');
    const headers = signatureHeaders(id, unicode, [current, previous], at);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(pythonVerifies(current, headers, unicode)).toBe('ok');
    expect(pythonVerifies(previous, headers, unicode)).toBe('ok');
    expect(pythonVerifies(newSecret(), headers, unicode)).toBe('mismatch');
  });

  it('signs with every secret of a rotation, the current one first, each verifiable on its own', () => {
    const current = newSecret();
    const previous = newSecret();
    const both = signatureHeaders(id, body, [current, previous], at)['webhook-signature'].split(' ');
    expect(both[0]).toBe(signatureHeaders(id, body, [current], at)['webhook-signature']);
    expect(both[1]).toBe(signatureHeaders(id, body, [previous], at)['webhook-signature']);
  });

  it('refuses to sign without a secret', () => {
    expect(() => signatureHeaders(id, body, [], at)).toThrow('at least one signing secret is required');
  });
});
