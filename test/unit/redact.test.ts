import { looksSecret, redactUrl } from '../../lambdas/core/endpoint-guard';
import { publicView } from '../../cli/commands/subscriptions';
import { newSecret } from '../../lambdas/core/subscriptions';

describe('URLs in logs, DLQ reasons and CLI output never carry a token from the path', () => {
  it.each([
    ['Slack', 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX', 'https://hooks.slack.com/services/…/…/…'],
    ['Discord', 'https://discord.com/api/webhooks/123456789012345678/AbCdEf-GhIjKlMnOpQrStUvWxYz_0123456789abcdefghijklmnopqrstuvwxyzABCD', 'https://discord.com/api/webhooks/…/…'],
    ['Zapier', 'https://hooks.zapier.com/hooks/catch/123456/abcdef1/', 'https://hooks.zapier.com/hooks/catch/123456/…/'],
    ['32-char hex', 'https://h.example/in/5f4dcc3b5aa765d61d8327deb882cf99', 'https://h.example/in/…'],
    ['40-char hex', 'https://h.example/in/2fd4e1c67a2d28fced849ee1bb76e7391b93eb12/done', 'https://h.example/in/…/done'],
    ['64-char hex', 'https://h.example/t/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'https://h.example/t/…'],
    ['base64url', 'https://h.example/hook/dGhpcy1pcy1hLXNlY3JldC10b2tlbg', 'https://h.example/hook/…'],
    ['UUID', 'https://h.example/tenants/90aabf83-d23c-4792-b483-2546b8041379/events', 'https://h.example/tenants/…/events'],
    ['JWT-ish', 'https://h.example/cb/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c', 'https://h.example/cb/…'],
    ['upper-case token', 'https://h.example/in/ABCDEFGHIJKLMNOPQRSTUV', 'https://h.example/in/…'],
    ['query and credentials dropped', 'https://user:pw@h.example/in?token=abc#x', 'https://h.example/in?…'],
  ])('%s', (_shape, url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });

  it.each([
    'https://hooks.acme.example/webhooks/statushooks',
    'https://api.acme.example/api/v1/hooks',
    'https://acme.example/returns/events',
    'https://acme.example/v2.1/order-status-changed',
    'https://acme.example:8443/hooks/123',
    'https://acme.example/',
  ])('keeps an ordinary path readable: %s', (url) => {
    expect(redactUrl(url)).toBe(url);
  });

  it('judges segments, not the whole path', () => {
    expect(looksSecret('statushooks')).toBe(false);
    expect(looksSecret('return-order-status-changed-receiver')).toBe(false);
    expect(looksSecret('T0KEN123')).toBe(true);
    expect(looksSecret('1234567890')).toBe(true);
  });

  it('the CLI shows a subscription with its URL masked unless asked', () => {
    const subscription = { tenantId: 'acme', subscriptionId: 'sub_1', url: 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX', events: ['*'], secret: newSecret(), state: 'active' as const };
    expect(publicView(subscription).url).toBe('https://hooks.slack.com/services/…/…/…');
    expect(JSON.stringify(publicView(subscription))).not.toContain('XXXXXXXX');
    expect(publicView(subscription, true).url).toBe(subscription.url);
  });
});
