import { MemoryCache } from "./memory";
import type { Cache } from "./port";
import { createUpstashRedis, DEFAULT_UPSTASH_TIMEOUT_MS, UpstashCache } from "./upstash";

export { CacheUnavailableError } from "./errors";
export { type CacheKey, keys } from "./keys";
export { MemoryCache, type MemoryCacheOptions } from "./memory";
export type { Cache } from "./port";
export {
  createUpstashRedis,
  DEFAULT_UPSTASH_TIMEOUT_MS,
  UpstashCache,
  type UpstashCacheOptions,
  type UpstashRedisConfig,
} from "./upstash";

export interface CacheConfig {
  upstashUrl?: string;
  upstashToken?: string;
  /** Per round-trip budget for the Upstash adapter (default 250 ms). */
  timeoutMs?: number;
}

/**
 * Upstash when both URL and token are configured, otherwise the in-process cache. Half a
 * configuration falls back to memory rather than failing, matching the embedded default.
 */
export function createCache(config: CacheConfig): Cache {
  const { upstashUrl, upstashToken, timeoutMs } = config;
  if (upstashUrl && upstashToken) {
    const redis = createUpstashRedis({
      url: upstashUrl,
      token: upstashToken,
      // The fetch is aborted a little after the adapter gives up, so the adapter's typed
      // timeout wins and the socket is still released.
      timeoutMs: (timeoutMs ?? DEFAULT_UPSTASH_TIMEOUT_MS) + 50,
    });
    return new UpstashCache(redis, timeoutMs === undefined ? {} : { timeoutMs });
  }
  return new MemoryCache();
}
