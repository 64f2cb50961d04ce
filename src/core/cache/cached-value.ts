import type { Logger } from "../log/logger";
import { CacheUnavailableError } from "./errors";
import type { CacheKey } from "./keys";
import type { Cache } from "./port";

/**
 * Cache-first read of one value (a single resource), for data that writes invalidate with
 * `forgetValue`. The TTL bounds how long a read that raced a write can keep the old value.
 * A cache that is down never fails the read: it falls through to `load` (fail open).
 */
export async function cachedValue<T>(
  options: { cache: Cache; logger?: Logger },
  key: CacheKey,
  ttlSeconds: number,
  load: () => Promise<T | undefined>,
): Promise<T | undefined> {
  try {
    const hit = await options.cache.get<T>(key);
    if (hit !== undefined && hit !== null) return hit;
  } catch (error) {
    if (!(error instanceof CacheUnavailableError)) throw error;
    options.logger?.warn("cache unavailable, reading from the database", { key, error });
    return load();
  }
  const value = await load();
  if (value !== undefined) {
    await options.cache.set(key, value, { ttlSeconds }).catch((error: unknown) => {
      if (!(error instanceof CacheUnavailableError)) throw error;
    });
  }
  return value;
}

/** Drops a cached value after a write. A cache that is down is logged, not fatal (TTL bounds). */
export async function forgetValue(
  options: { cache: Cache; logger?: Logger },
  ...keys: CacheKey[]
): Promise<void> {
  for (const key of keys) {
    await options.cache.delete(key).catch((error: unknown) => {
      if (!(error instanceof CacheUnavailableError)) throw error;
      options.logger?.warn("cache unavailable, value not invalidated", { key, error });
    });
  }
}
