/** The helpers that have one home: text cutting, error messages, schema problems, the local state file. */
import path from 'node:path';
import { z } from 'zod';
import { localStateFile, localStateSchema } from '../../local/state-file';
import { errorMessage } from '../../lambdas/core/errors';
import { formatIssues } from '../../lambdas/core/issues';
import { truncateText } from '../../lambdas/core/text';

describe('truncateText', () => {
  it('keeps short text, cuts long text with an ellipsis and never splits a surrogate pair', () => {
    expect(truncateText('short', 10)).toBe('short');
    expect(truncateText('abcdefghij', 5)).toBe('abcd…');
    // '😀' is two UTF-16 units: a cut through it drops the whole character.
    expect(truncateText('abc😀def', 5)).toBe('abc…');
  });
});

describe('errorMessage', () => {
  it('names the error and adds a Node error code the message lacks', () => {
    expect(errorMessage(new TypeError('boom'))).toBe('TypeError: boom');
    const refused = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(errorMessage(refused)).toBe('Error ECONNRESET: socket hang up');
    const withCode = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(errorMessage(withCode)).toBe('Error: connect ECONNREFUSED 127.0.0.1:1');
    expect(errorMessage('plain')).toBe('plain');
  });
});

describe('formatIssues', () => {
  const schema = z.object({ a: z.object({ b: z.string() }) });
  it('writes one path: message line per problem, under a prefix, with (root) for the value itself', () => {
    const nested = schema.safeParse({ a: { b: 1 } });
    expect(formatIssues(nested.error!.issues)).toEqual([expect.stringMatching(/^a\.b: /)]);
    expect(formatIssues(nested.error!.issues, 'detail')).toEqual([expect.stringMatching(/^detail\.a\.b: /)]);
    const root = schema.safeParse('x');
    expect(formatIssues(root.error!.issues)).toEqual([expect.stringMatching(/^\(root\): /)]);
  });
});

describe('local state file', () => {
  it('is .statushooks/dev.json of the working directory, with region and endpoints', () => {
    expect(localStateFile('/p')).toBe(path.join('/p', '.statushooks', 'dev.json'));
    expect(localStateSchema.safeParse({ region: 'us-east-1', endpoints: { eventbridge: 'http://127.0.0.1:1', dynamodb: 'http://127.0.0.1:2', sqs: 'http://127.0.0.1:3' }, X: 'y' }).success).toBe(true);
    expect(localStateSchema.safeParse({ region: 'us-east-1' }).success).toBe(false);
  });
});
