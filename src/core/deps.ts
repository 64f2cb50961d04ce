import type { Sql } from "postgres";
import type { Config } from "../config";
import type { GuestAccess, GuestSessions } from "./auth/guest-sessions";
import type { Identity } from "./auth/identity";
import type { PlatformPrincipal } from "./auth/principal";
import type { RateLimiter } from "./auth/rate-limiter";
import type { BearerRefusal } from "./auth/reader-gate";
import type { VerifiedToken } from "./auth/token-verifier";
import type { LocalCache } from "./cache/local-cache";
import type { Cache } from "./cache/port";
import type { CachedJson } from "./cache/read-through";
import type { SecretBox } from "./crypto/secret-box";
import type { RegionalRouter } from "./db/regional-router";
import type { LaneHandoff } from "./http/lane-handoff";
import type { Logger } from "./log/logger";

/**
 * Everything a request needs from the outside world, injected by the runtime entry
 * (src/server.ts on Bun, src/worker.ts on Workers) and reached through `c.get("deps")`.
 */
export interface Deps {
  config: Config;
  /** The admin database: a pool on Bun, a per-request client over Hyperdrive on Workers. */
  db: Sql;
  /**
   * Regional databases (tenant → connection → client): pools on Bun, Hyperdrive bindings per
   * request on Workers.
   */
  regional: RegionalRouter;
  /**
   * Seals and opens secrets at rest (database passwords). Absent when no key is available
   * (Workers or staging without APP_ENCRYPTION_KEY): routes that need it answer 503.
   */
  secretBox?: SecretBox;
  cache: Cache;
  /** Per-process tier of rarely changing data (reference data) in front of `cache`. */
  localCache: LocalCache<CachedJson>;
  rateLimiter: RateLimiter;
  guestSessions: GuestSessions;
  /** Token verification and authorization; absent when no identity provider is configured. */
  identity?: Identity;
  logger: Logger;
  /** Hands background work to the runtime (Workers `waitUntil`); awaited inline elsewhere. */
  waitUntil(promise: Promise<unknown>): void;
}

/** Where a client's address came from, for the logs and the per-IP limits. */
export type ClientIp = string;

export type AppEnv = {
  Variables: {
    requestId: string;
    deps: Deps;
    log: Logger;
    /** The client's address, resolved on first call (see request-context). */
    clientIp: () => ClientIp;
    /** Set by the guest gate on reference-data routes. */
    guest: GuestAccess;
    /**
     * The guest admission the warm-read fast lane already made for this request before handing
     * it to the slow path (see src/core/http/fast-lane.ts): the guest gate uses it, once.
     */
    laneAdmission: LaneHandoff["admission"];
    /**
     * Why the reader gate did not accept a bearer as a platform access token on a public route
     * (the request then continues as a guest).
     */
    bearerRefused: BearerRefusal;
    /** Set by `authorize` on protected routes, and by the reader gate for signed-in readers. */
    principal: PlatformPrincipal;
    token: VerifiedToken;
  };
};
