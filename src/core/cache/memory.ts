import type { CacheKey } from "./keys";
import type { Cache } from "./port";

export interface MemoryCacheOptions {
  /** Upper bound on stored entries; the least recently written entry goes first. */
  maxEntries?: number;
  /** Milliseconds clock, injectable so tests can move time without waiting. */
  now?: () => number;
}

interface Entry {
  /**
   * The JSON text, exactly what the Redis adapter stores: callers never share object identity with
   * the cache, and counters follow the same "is this an integer" rule as Redis INCRBY.
   */
  value: string;
  expiresAt: number;
}

const REDIS_INTEGER = /^(0|-?[1-9][0-9]*)$/;

/**
 * Single-process cache for the embedded default. Expiry is lazy (checked on access) and size is
 * bounded, so expired entries never accumulate past `maxEntries`.
 */
export class MemoryCache implements Cache {
  readonly kind = "memory" as const;
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: MemoryCacheOptions = {}) {
    const maxEntries = options.maxEntries ?? 50_000;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${String(maxEntries)}`);
    }
    this.maxEntries = maxEntries;
    this.now = options.now ?? Date.now;
  }

  async get<T>(key: CacheKey): Promise<T | null> {
    const entry = this.live(key);
    return entry ? (JSON.parse(entry.value) as T) : null;
  }

  async getMany<T>(keys: readonly CacheKey[]): Promise<(T | null)[]> {
    return keys.map((key) => {
      const entry = this.live(key);
      return entry ? (JSON.parse(entry.value) as T) : null;
    });
  }

  async set(key: CacheKey, value: unknown, options: { ttlSeconds: number }): Promise<void> {
    this.store(key, encode(value), this.expiry(options.ttlSeconds));
  }

  async setIfAbsent(
    key: CacheKey,
    value: unknown,
    options: { ttlSeconds: number },
  ): Promise<boolean> {
    const text = encode(value);
    const expiresAt = this.expiry(options.ttlSeconds);
    if (this.live(key)) return false;
    this.store(key, text, expiresAt);
    return true;
  }

  async delete(...keys: CacheKey[]): Promise<number> {
    let deleted = 0;
    for (const key of new Set(keys)) {
      if (this.live(key)) deleted += 1;
      this.entries.delete(key);
    }
    return deleted;
  }

  async deleteByPrefix(prefix: CacheKey): Promise<number> {
    const now = this.now();
    let deleted = 0;
    for (const [key, entry] of this.entries) {
      if (!key.startsWith(prefix)) continue;
      if (!isExpired(entry, now)) deleted += 1;
      this.entries.delete(key);
    }
    return deleted;
  }

  async increment(key: CacheKey, options: { ttlSeconds: number; by?: number }): Promise<number> {
    const by = options.by ?? 1;
    if (!Number.isSafeInteger(by)) throw new RangeError(`increment must be an integer: ${by}`);
    const expiresAt = this.expiry(options.ttlSeconds);
    const entry = this.live(key);
    if (!entry) {
      this.store(key, String(by), expiresAt);
      return by;
    }
    const current = REDIS_INTEGER.test(entry.value) ? Number(entry.value) : Number.NaN;
    const next = current + by;
    if (!Number.isSafeInteger(current) || !Number.isSafeInteger(next)) {
      // Same failure Redis reports for INCRBY on a non-integer value.
      throw new Error("ERR value is not an integer or out of range");
    }
    this.store(key, String(next), entry.expiresAt);
    return next;
  }

  async ttl(key: CacheKey): Promise<number | null> {
    const entry = this.live(key);
    if (!entry) return null;
    // Redis rounds the remaining milliseconds to the nearest second.
    return Math.max(0, Math.round((entry.expiresAt - this.now()) / 1000));
  }

  async ping(): Promise<void> {}

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (isExpired(entry, this.now())) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private store(key: string, value: string, expiresAt: number): void {
    // Re-inserting moves the key to the end of the Map's insertion order, which is the age order
    // eviction relies on.
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(oldest);
    }
  }

  private expiry(ttlSeconds: number): number {
    assertTtl(ttlSeconds);
    return this.now() + ttlSeconds * 1000;
  }
}

function isExpired(entry: Entry, now: number): boolean {
  // Redis keeps a key alive up to and including its expiry millisecond.
  return now > entry.expiresAt;
}

function assertTtl(ttlSeconds: number): void {
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new RangeError(`ttlSeconds must be a positive integer, got ${String(ttlSeconds)}`);
  }
}

function encode(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError("cache values must be JSON-serialisable");
  return text;
}
