import { UnsupportedPatternError, compilePattern } from '../../local/patterns';

const event = {
  version: '0',
  id: 'e-1',
  'detail-type': 'return_order.status.changed',
  source: 'returns.cloud',
  account: '000000000000',
  time: '2025-01-01T00:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:s3:::a', 'arn:aws:s3:::b'],
  detail: {
    tenantId: 'acme-shop',
    newStatus: 'delivered',
    amount: 42,
    flag: false,
    nothing: null,
    items: [{ sku: 'A-1' }, { sku: 'B-2' }],
    returnOrder: { uuid: 'u-1', number: '100004' },
  },
};

describe('compilePattern', () => {
  test.each<[string, unknown, boolean]>([
    ['exact values (any of the list)', { source: ['returns.cloud', 'other'] }, true],
    ['exact value that differs', { source: ['other'] }, false],
    ['the synthesized rule pattern', { source: ['returns.cloud'], 'detail-type': ['return_order.status.changed', 'sales_order.status.changed'] }, true],
    ['nested objects', { detail: { returnOrder: { number: ['100004'] } } }, true],
    ['nested field missing', { detail: { salesOrder: { number: ['100004'] } } }, false],
    ['numbers, booleans and null', { detail: { amount: [42], flag: [false], nothing: [null] } }, true],
    ['an event array matches when any element matches', { resources: ['arn:aws:s3:::b'] }, true],
    ['values inside arrays of objects', { detail: { items: { sku: ['B-2'] } } }, true],
    ['prefix', { 'detail-type': [{ prefix: 'return_order.' }] }, true],
    ['prefix that differs', { 'detail-type': [{ prefix: 'sales_order.' }] }, false],
    ['prefix ignoring case', { source: [{ prefix: { 'equals-ignore-case': 'RETURNS.' } }] }, true],
    ['suffix', { 'detail-type': [{ suffix: '.changed' }] }, true],
    ['equals-ignore-case', { detail: { tenantId: [{ 'equals-ignore-case': 'ACME-SHOP' }] } }, true],
    ['anything-but a value', { detail: { newStatus: [{ 'anything-but': 'cancelled' }] } }, true],
    ['anything-but the value present', { detail: { newStatus: [{ 'anything-but': ['delivered', 'x'] }] } }, false],
    ['anything-but a prefix', { source: [{ 'anything-but': { prefix: 'aws.' } }] }, true],
    ['anything-but needs the field', { detail: { missing: [{ 'anything-but': 'x' }] } }, false],
    ['exists true', { detail: { tenantId: [{ exists: true }] } }, true],
    ['exists false on a present field', { detail: { tenantId: [{ exists: false }] } }, false],
    ['exists false on a missing field', { detail: { missing: [{ exists: false }] } }, true],
    ['numeric range', { detail: { amount: [{ numeric: ['>', 0, '<=', 42] }] } }, true],
    ['numeric out of range', { detail: { amount: [{ numeric: ['<', 10] }] } }, false],
    ['wildcard', { detail: { tenantId: [{ wildcard: 'acme-*' }] } }, true],
    ['$or alternatives', { $or: [{ source: ['x'] }, { detail: { newStatus: ['delivered'] } }] }, true],
    ['$or with no match', { $or: [{ source: ['x'] }, { detail: { newStatus: ['y'] } }] }, false],
  ])('%s', (_name, pattern, expected) => {
    expect(compilePattern(pattern, 'rule R')(event)).toBe(expected);
  });

  test('a pattern given as JSON text (as CloudFormation allows) works the same', () => {
    expect(compilePattern(JSON.stringify({ source: ['returns.cloud'] }), 'rule R')(event)).toBe(true);
  });

  test.each([
    [{ detail: { ip: [{ cidr: '10.0.0.0/24' }] } }, /operator "cidr" is not supported/],
    [{ source: [{ 'starts-with': 'x' }] }, /operator "starts-with" is not supported/],
    [{ source: [{ 'anything-but': { cidr: '10.0.0.0/8' } }] }, /"anything-but"\/"cidr" is not supported/],
    [{ source: 'returns.cloud' }, /must be in a list/],
  ])('refuses %j by name instead of matching it differently', (pattern, message) => {
    expect(() => compilePattern(pattern, 'rule R')).toThrow(UnsupportedPatternError);
    expect(() => compilePattern(pattern, 'rule R')).toThrow(message);
  });
});
