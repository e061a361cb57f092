import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';

/** PutEvents takes at most 10 entries per call. */
const BATCH = 10;

export type PutResult = { readonly ok: true; readonly eventId: string } | { readonly ok: false; readonly error: string };

/**
 * Puts entries on the bus; returns one result per entry, in order. A failed call fails every
 * entry of its batch (nothing is known to be accepted), it does not throw half-way.
 */
export async function putEvents(client: EventBridgeClient, entries: readonly PutEventsRequestEntry[]): Promise<PutResult[]> {
  const results: PutResult[] = [];
  for (let i = 0; i < entries.length; i += BATCH) {
    const chunk = entries.slice(i, i + BATCH);
    const out = await client.send(new PutEventsCommand({ Entries: chunk }));
    chunk.forEach((_, j) => {
      const entry = out.Entries?.[j];
      if (entry?.EventId && !entry.ErrorCode) results.push({ ok: true, eventId: entry.EventId });
      else results.push({ ok: false, error: entry ? `${entry.ErrorCode ?? 'Unknown'}: ${entry.ErrorMessage ?? 'no message'}` : 'no result for this entry' });
    });
  }
  return results;
}
