/** `statushooks verify`: the secret from --secret or from STATUSHOOKS_WEBHOOK_SECRET. Offline, no target. */
import { signatureHeaders } from '../../lambdas/core/signing';
import { newSecret } from '../../lambdas/core/subscriptions';
import { cli, json } from './helpers';

jest.setTimeout(30_000);

const ENV = 'STATUSHOOKS_WEBHOOK_SECRET';
const secret = newSecret();
const body = '{"event":"payment_operation.status.changed","oldStatus":"pending","newStatus":"paid","paymentOperation":{"number":null,"uuid":"u-1","externalId":null}}';
const headers = signatureHeaders('msg_verify', body, [secret], new Date());
const args = ['verify', '--id', headers['webhook-id'], '--timestamp', headers['webhook-timestamp'], '--signature', headers['webhook-signature'], '--body', '-'];

test('without --secret, the secret comes from STATUSHOOKS_WEBHOOK_SECRET', async () => {
  const [valid, tampered] = await Promise.all([
    cli(args, { input: body, env: { [ENV]: secret } }),
    cli([...args, '--json'], { input: body.replace('paid', 'refunded'), env: { [ENV]: secret } }),
  ]);

  expect(valid).toMatchObject({ code: 0, stdout: 'valid\n', stderr: '' });
  expect(tampered.code).toBe(1);
  expect(json(tampered)).toEqual({ valid: false, reason: 'No matching signature found' });
});

test('--secret, when given, wins over the environment', async () => {
  const [flagRight, flagWrong] = await Promise.all([
    cli([...args, '--secret', secret], { input: body, env: { [ENV]: newSecret() } }),
    cli([...args, '--secret', newSecret()], { input: body, env: { [ENV]: secret } }),
  ]);

  expect(flagRight).toMatchObject({ code: 0, stdout: 'valid\n' });
  expect(flagWrong).toMatchObject({ code: 1, stderr: 'error: invalid signature: No matching signature found\n' });
});

test('no secret at all, or a malformed one in the environment, is a usage error naming where it looked', async () => {
  const [none, malformed, empty] = await Promise.all([
    cli(args, { input: body, env: { [ENV]: undefined } }),
    cli(args, { input: body, env: { [ENV]: 'not-a-secret' } }),
    cli(args, { input: body, env: { [ENV]: '' } }),
  ]);

  expect(none).toMatchObject({ code: 2, stdout: '', stderr: `error: no secret: pass --secret <whsec_…> or set the environment variable ${ENV}\n` });
  expect(malformed).toMatchObject({ code: 2, stdout: '' });
  expect(malformed.stderr).toBe(`error: ${ENV} must be "whsec_" followed by base64 of 24 to 64 bytes\n`);
  expect(empty).toMatchObject({ code: 2, stderr: malformed.stderr });
});

test('a --timestamp that is not unix seconds is a usage error (exit 2); a well-formed but stale one is an invalid signature (exit 1)', async () => {
  const withTimestamp = (ts: string) => ['verify', '--secret', secret, '--id', headers['webhook-id'], '--timestamp', ts, '--signature', headers['webhook-signature'], '--body', '-'];
  const [letters, isoDate, stale] = await Promise.all([
    cli(withTimestamp('abc'), { input: body }),
    cli(withTimestamp('2025-11-28T12:00:00Z'), { input: body }),
    cli(withTimestamp('1000000000'), { input: body }),
  ]);

  expect(letters).toMatchObject({ code: 2, stdout: '', stderr: 'error: --timestamp: expected unix seconds (a whole number such as 1732812345), got "abc"\n' });
  expect(isoDate).toMatchObject({ code: 2, stdout: '' });
  expect(stale).toMatchObject({ code: 1, stdout: '' });
  expect(stale.stderr).toMatch(/^error: invalid signature: /);
});
