/**
 * A bounded, expiring map of values kept by reference in this process: the first tier in front
 * of the shared cache for data that rarely changes. Unlike MemoryCache (the Cache port's
 * in-process adapter, which stores JSON text to behave like Redis), a hit costs no parsing, so
 * values must be treated as immutable by every reader.
 */
export class LocalCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(
    private readonly options: { maxEntries: number; now?: () => number } = { maxEntries: 10_000 },
  ) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V, ttlSeconds: number): void {
    if (!this.entries.has(key) && this.entries.size >= this.options.maxEntries) {
      // Insertion order: the oldest entry goes first.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, expiresAt: this.now() + ttlSeconds * 1000 });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
