/**
 * A small TTL cache for subscription lookups. Lambda keeps module state between invocations,
 * so a warm function avoids a DynamoDB read per message; the TTL bounds how long a paused or
 * edited subscription can still be seen as it was. Concurrent misses share one load.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: Promise<V>; expires: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 10_000,
  ) {}

  async get(key: string, load: () => Promise<V>): Promise<V> {
    const t = this.now();
    const hit = this.entries.get(key);
    if (hit && hit.expires > t) return hit.value;
    if (this.ttlMs <= 0) return load();
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    const value = load();
    this.entries.set(key, { value, expires: t + this.ttlMs });
    // A failed load must not be cached: the next call tries again.
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    return value;
  }

  /** Replaces an entry with a value known to be fresh (e.g. what this instance just wrote). */
  set(key: string, value: V): void {
    if (this.ttlMs <= 0) return;
    this.entries.set(key, { value: Promise.resolve(value), expires: this.now() + this.ttlMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
