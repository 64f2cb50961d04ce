import type { CacheKey } from "./keys";

/**
 * The one cache abstraction every feature uses. Adapters: in-process memory (embedded default,
 * single process) and Upstash REST (`@upstash/redis`, Workers and anyone on Upstash or a
 * REST-compatible proxy). Values are JSON-serialisable.
 */
export interface Cache {
  /** Adapter name, reported by /health. */
  readonly kind: "memory" | "upstash";
  get<T>(key: CacheKey): Promise<T | null>;
  /** Several keys in one round trip (MGET on Redis). Missing keys come back as null. */
  getMany<T>(keys: readonly CacheKey[]): Promise<(T | null)[]>;
  set(key: CacheKey, value: unknown, options: { ttlSeconds: number }): Promise<void>;
  /** SET NX: stores only when the key is absent; true when this call stored it. */
  setIfAbsent(key: CacheKey, value: unknown, options: { ttlSeconds: number }): Promise<boolean>;
  delete(...keys: CacheKey[]): Promise<number>;
  /** Deletes every key that starts with the prefix (SCAN + DEL on Redis, never KEYS). */
  deleteByPrefix(prefix: CacheKey): Promise<number>;
  /** Atomic counter; the TTL is set when the counter is created and not extended afterwards. */
  increment(key: CacheKey, options: { ttlSeconds: number; by?: number }): Promise<number>;
  /** Remaining time to live in seconds, or null when the key is missing or has no TTL. */
  ttl(key: CacheKey): Promise<number | null>;
  /** A cheap round trip proving the backend answers (PING). */
  ping(): Promise<void>;
}
