import { Webhook } from 'standardwebhooks';

/** Headers of one webhook request (docs/architecture.md §2), apart from content-type and user-agent. */
export interface SignatureHeaders {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
}

/**
 * Signs `body` per Standard Webhooks with every given secret; during a rotation the receiver
 * sees several space-separated `v1,<base64>` signatures and accepts any one it can verify.
 */
export function signatureHeaders(deliveryId: string, body: string, secrets: readonly string[], at: Date): SignatureHeaders {
  if (secrets.length === 0) throw new Error('at least one signing secret is required');
  // Standard Webhooks timestamps are whole seconds; sign the same second we send.
  const timestamp = new Date(Math.floor(at.getTime() / 1000) * 1000);
  const signatures = secrets.map((secret) => new Webhook(secret).sign(deliveryId, timestamp, body));
  return {
    'webhook-id': deliveryId,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': signatures.join(' '),
  };
}
