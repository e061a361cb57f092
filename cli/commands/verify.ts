import { timingSafeEqual } from 'node:crypto';
import type { Command } from 'commander';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { secretSchema } from '../../lambdas/core/subscriptions';
import { CliError, UsageError } from '../cli-errors';
import { nonEmpty, parseUnixSeconds, readInput } from '../inputs';
import { printJson, printLines } from '../output';

/** Where `verify` reads the secret when --secret is not given: keeps it out of shell history and `ps`. */
export const SECRET_ENV = 'STATUSHOOKS_WEBHOOK_SECRET';

interface VerifyOptions {
  secret?: string;
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
    .option('--secret <secret>', `the subscription's secret (whsec_…); default: the environment variable ${SECRET_ENV}, which keeps it out of shell history and ps`)
    .requiredOption('--id <webhook-id>', 'the webhook-id header')
    .requiredOption('--timestamp <ts>', 'the webhook-timestamp header (unix seconds)')
    .requiredOption('--signature <sig>', 'the webhook-signature header (one or more space-separated v1,<base64>)')
    .requiredOption('--body <file|->', 'the exact request body: a file, or - for stdin')
    .option('--json', 'print {"valid": …, "reason": …} on stdout')
    .addHelpText(
      'after',
      [
        '',
        `The secret comes from --secret or, without it, from ${SECRET_ENV}.`,
        '',
        'Examples:',
        `  read -rs ${SECRET_ENV} && export ${SECRET_ENV}`,
        '  statushooks verify --id msg_2b4e… --timestamp 1732812345 --signature "v1,K3tY…" --body body.json',
        '  statushooks verify --secret whsec_… --id msg_2b4e… --timestamp 1732812345 --signature "v1,K3tY…" --body - < body.json',
      ].join('\n'),
    )
    .action((options: VerifyOptions) => {
      const [source, raw] = options.secret !== undefined ? ['--secret', options.secret] : [SECRET_ENV, process.env[SECRET_ENV]];
      if (raw === undefined) throw new UsageError(`no secret: pass --secret <whsec_…> or set the environment variable ${SECRET_ENV}`);
      const secret = secretSchema.safeParse(raw.trim());
      if (!secret.success) throw new UsageError(`${source} ${secret.error.issues[0]?.message ?? 'is not a valid secret'}`);
      const id = nonEmpty('--id', options.id);
      const timestamp = parseUnixSeconds('--timestamp', options.timestamp);
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
