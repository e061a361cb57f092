import { timingSafeEqual } from 'node:crypto';
import type { Command } from 'commander';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { secretSchema } from '../../lambdas/core/subscriptions';
import { CliError, UsageError } from '../errors';
import { nonEmpty } from '../inputs';
import { printJson, printLines } from '../output';
import { readInput } from './events';

interface VerifyOptions {
  secret: string;
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  json?: boolean;
}

/**
 * Whether one of the `v1,` signatures matches, ignoring the timestamp's age: used only to explain
 * a "timestamp too old/new" refusal (the signature is right, the request is stale).
 */
function signatureMatches(secret: string, id: string, timestamp: string, body: string, header: string): boolean {
  const seconds = Number(timestamp);
  if (!Number.isInteger(seconds)) return false;
  const expected = Buffer.from(new Webhook(secret).sign(id, new Date(seconds * 1000), body).split(',')[1] ?? '');
  return header.split(' ').some((part) => {
    const [version, signature] = part.split(',');
    if (version !== 'v1' || !signature) return false;
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('check a webhook signature as a receiver does (Standard Webhooks, 5-minute timestamp tolerance); exit 0 valid, 1 invalid')
    .requiredOption('--secret <secret>', "the subscription's secret (whsec_…)")
    .requiredOption('--id <webhook-id>', 'the webhook-id header')
    .requiredOption('--timestamp <ts>', 'the webhook-timestamp header (unix seconds)')
    .requiredOption('--signature <sig>', 'the webhook-signature header (one or more space-separated v1,<base64>)')
    .requiredOption('--body <file|->', 'the exact request body: a file, or - for stdin')
    .option('--json', 'print {"valid": …, "reason": …} on stdout')
    .addHelpText(
      'after',
      '\nExample:\n  statushooks verify --secret whsec_… --id msg_2b4e… --timestamp 1732812345 --signature "v1,K3tY…" --body body.json',
    )
    .action((options: VerifyOptions) => {
      const secret = secretSchema.safeParse(options.secret.trim());
      if (!secret.success) throw new UsageError(`--secret ${secret.error.issues[0]?.message ?? 'is not a valid secret'}`);
      const id = nonEmpty('--id', options.id);
      const timestamp = nonEmpty('--timestamp', options.timestamp);
      const signature = nonEmpty('--signature', options.signature);
      const body = readInput('--body', options.body);
      let reason: string | undefined;
      try {
        new Webhook(secret.data).verify(body, { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature });
      } catch (error) {
        if (!(error instanceof WebhookVerificationError)) throw error;
        reason = error.message;
        if (/timestamp too (old|new)/i.test(reason) && signatureMatches(secret.data, id, timestamp, body, signature)) {
          reason += ' (the signature itself matches: receivers refuse it only for its age)';
        }
      }
      if (options.json) printJson({ valid: reason === undefined, ...(reason ? { reason } : {}) });
      else if (reason === undefined) printLines('valid');
      if (reason !== undefined) throw new CliError(`invalid signature: ${reason}`);
    });
}
