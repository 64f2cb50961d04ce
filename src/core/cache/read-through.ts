import { sha256Hex } from "../crypto/hash";
import type { Logger } from "../log/logger";
import { CacheUnavailableError } from "./errors";
import type { CacheKey } from "./keys";
import type { Cache } from "./port";

/**
 * A cached response body: the JSON text of `data` (validated against its schema before it was
 * cached) and its weak ETag. Handlers splice the text into the envelope instead of re-serialising
 * it, and answer `If-None-Match` from the ETag without touching the data.
 */
export interface CachedJson {
  json: string;
  etag: string;
}

export async function toCachedJson(data: unknown): Promise<CachedJson> {
  const json = JSON.stringify(data);
  return { json, etag: `W/"${(await sha256Hex(json)).slice(0, 32)}"` };
}

export interface ReadThroughOptions {
  cache: Cache;
  /**
   * Per-process copy in front of a shared (Redis) cache, for data that rarely changes: a warm
   * request then costs no round trip. Omitted when the shared cache is itself in-process.
   */
  local?: Cache;
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
  if (local) {
    const hit = await local.get<CachedJson>(key);
    if (hit) return hit;
  }
  try {
    const hit = await cache.get<CachedJson>(key);
    if (hit) {
      await local?.set(key, hit, { ttlSeconds: localTtl });
      return hit;
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
  await local?.set(key, value, { ttlSeconds: localTtl });
  return value;
}
