import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { SqsJobQueue } from '../../lambdas/adapters/job-queue';

const sqs = new SQSClient({ region: 'eu-west-1', maxAttempts: 1 });
const sqsMock = mockClient(sqs);
const queue = new SqsJobQueue(sqs, 'https://sqs.eu-west-1.amazonaws.com/1/delivery', { retries: 0 });

afterEach(() => sqsMock.reset());

describe('a blip of ChangeMessageVisibility does not cost the job the queue visibility timeout', () => {
  it('tries again and sets the scheduled delay after two failures', async () => {
    sqsMock.on(ChangeMessageVisibilityCommand).rejectsOnce(new Error('ServiceUnavailable')).rejectsOnce(new Error('ServiceUnavailable')).resolves({});
    await expect(queue.changeVisibility('rh-1', 600)).resolves.toBeUndefined();
    const calls = sqsMock.commandCalls(ChangeMessageVisibilityCommand);
    expect(calls).toHaveLength(3);
    expect(calls.map((c) => c.args[0].input.VisibilityTimeout)).toEqual([600, 600, 600]);
  });

  it('gives up after three tries, so the caller can report the record failed', async () => {
    sqsMock.on(ChangeMessageVisibilityCommand).rejects(new Error('ServiceUnavailable'));
    await expect(queue.changeVisibility('rh-1', 60)).rejects.toThrow('ServiceUnavailable');
    expect(sqsMock.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(3);
  });
});
