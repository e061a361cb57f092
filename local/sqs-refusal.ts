/**
 * SQS answers that no retry changes: the message itself is refused (a character SQS cannot carry,
 * over 256 KiB, a bad attribute) or the queue is gone. AWS services that send to a queue on their
 * own (Lambda's destinations, EventBridge's dead-letter queues) drop the message then and count it
 * (`DestinationDeliveryFailures`, `InvocationsFailedToBeSentToDLQ`); the local runtime does the
 * same, loudly, rather than retry it forever. Throttling and unreachable endpoints are retried.
 */
export function isPermanentSqsRefusal(error: unknown): boolean {
  const e = error as { $fault?: unknown; name?: unknown } | null;
  if (e === null || typeof e !== 'object' || e.$fault !== 'client') return false;
  return !/throttl|overlimit/i.test(typeof e.name === 'string' ? e.name : '');
}
