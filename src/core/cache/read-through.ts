import { sha256Hex } from "../crypto/hash";
import type { Logger } from "../log/logger";
import { CacheUnavailableError } from "./errors";
import type { CacheKey } from "./keys";
import type { LocalCache } from "./local-cache";
import type { Cache } from "./port";

/**
 * A cached response body: the JSON text of `data` (validated against its schema before it was
 * cached) and its weak ETag. Handlers splice the text into the envelope instead of re-serialising
 * it, and answer `If-None-Match` from the ETag without touching the data.
 */
export interface CachedJson {
  readonly json: string;
  readonly etag: string;
}

export async function toCachedJson(data: unknown): Promise<CachedJson> {
  const json = JSON.stringify(data);
  return Object.freeze({ json, etag: `W/"${(await sha256Hex(json)).slice(0, 32)}"` });
}

export interface ReadThroughOptions {
  cache: Cache;
  /**
   * Per-process tier in front of `cache`, for data that rarely changes: a warm request then costs
   * no round trip and no parsing. Entries live `localTtlSeconds` (default 60) at most, counted
   * from when this process took its copy: one taken just before the shared entry expires may
   * outlive it by that much (the port does not say how long a shared entry has left).
   */
  local?: LocalCache<CachedJson>;
  localTtlSeconds?: number;
  logger?: Logger;
}

/**
 * Cache-first read. A cache that is down or slow never fails the read: the value is loaded from
 * the database (fail open), and the failure is logged.
 */
export async function readThrough(
  options: ReadThroughOptions,
  key: CacheKey,
  ttlSeconds: number,
  load: () => Promise<unknown>,
): Promise<CachedJson> {
  const { cache, local } = options;
  const localTtl = Math.min(ttlSeconds, options.localTtlSeconds ?? 60);
  const near = local?.get(key);
  if (near) return near;
  try {
    const hit = await cache.get<CachedJson>(key);
    if (hit) {
      const frozen = Object.freeze({ json: hit.json, etag: hit.etag });
      local?.set(key, frozen, localTtl);
      return frozen;
    }
  } catch (error) {
    if (!(error instanceof CacheUnavailableError)) throw error;
    options.logger?.warn("cache unavailable, reading from the database", { key, error });
    return toCachedJson(await load());
  }
  const value = await toCachedJson(await load());
  try {
    await cache.set(key, value, { ttlSeconds });
  } catch (error) {
    if (!(error instanceof CacheUnavailableError)) throw error;
    options.logger?.warn("cache unavailable, value not cached", { key, error });
  }
  local?.set(key, value, localTtl);
  return value;
}
