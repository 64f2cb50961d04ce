import type { Config } from "../config";
import type { FetchLike } from "../integrations/keycloak/client";
import { GuestSessions } from "./auth/guest-sessions";
import { createIdentity } from "./auth/identity";
import { MemoryRateLimiter, type RateLimiter } from "./auth/rate-limiter";
import { UpstashRateLimiter } from "./auth/rate-limiter.upstash";
import { CircuitBreaker } from "./cache/circuit-breaker";
import { LocalCache } from "./cache/local-cache";
import { MemoryCache } from "./cache/memory";
import type { Cache } from "./cache/port";
import type { CachedJson } from "./cache/read-through";
import { createUpstashRedis, UpstashCache } from "./cache/upstash";
import { createSecretBox, type EncryptionKey } from "./crypto/secret-box";
import type { Deps } from "./deps";
import type { Logger } from "./log/logger";

/** The dependencies that are safe to share across requests: built once per process or isolate. */
export type SharedDeps = Omit<Deps, "db" | "regional" | "waitUntil">;

export interface IdentitySource {
  /** Where Keycloak (or the local identity provider) is. */
  url: string;
  clientSecret?: string;
  fetch?: FetchLike;
}

/**
 * `identity`: the local identity provider when KEYCLOAK_URL is unset (Bun, development and
 * tests); without either, protected routes answer 503. `encryptionKeys`: the key ring when
 * APP_ENCRYPTION_KEY is unset (Bun's generated development key); without either there is no
 * secret box.
 */
export function createSharedDeps(
  config: Config,
  logger: Logger,
  options: { identity?: IdentitySource; encryptionKeys?: readonly EncryptionKey[] } = {},
): SharedDeps {
  let cache: Cache;
  let rateLimiter: RateLimiter;
  if (config.upstash) {
    const redis = createUpstashRedis({ ...config.upstash, timeoutMs: config.cacheTimeoutMs + 50 });
    // One breaker for both: they share the Redis whose outage it tracks.
    const breaker = new CircuitBreaker({ openMs: 2000 });
    cache = new UpstashCache(redis, { timeoutMs: config.cacheTimeoutMs, breaker });
    rateLimiter = new UpstashRateLimiter(redis, { timeoutMs: config.cacheTimeoutMs, breaker });
  } else {
    cache = new MemoryCache();
    rateLimiter = new MemoryRateLimiter();
  }
  const guestSessions = new GuestSessions({
    cache,
    rateLimiter,
    fallbackLimiter: new MemoryRateLimiter(),
    config: config.guest,
  });
  const localCache = new LocalCache<CachedJson>({ maxEntries: 10_000 });
  const source: IdentitySource | undefined = config.keycloak.url
    ? { url: config.keycloak.url, clientSecret: config.keycloak.clientSecret }
    : options.identity;
  const identity = source
    ? createIdentity({
        keycloakUrl: source.url,
        adminRealm: config.keycloak.adminRealm,
        clientId: config.keycloak.clientId,
        ...(source.clientSecret ? { clientSecret: source.clientSecret } : {}),
        audience: config.keycloak.audience,
        clockSkewSeconds: config.keycloak.clockSkewSeconds,
        cache,
        logger,
        ...(source.fetch ? { fetch: source.fetch } : {}),
      })
    : undefined;
  const keyRing = config.encryptionKeys ?? options.encryptionKeys;
  return {
    config,
    ...(keyRing ? { secretBox: createSecretBox(keyRing) } : {}),
    cache,
    localCache,
    rateLimiter,
    guestSessions,
    logger,
    ...(identity ? { identity } : {}),
  };
}
