import type { Config } from "../../config";
import { CacheUnavailableError } from "../cache/errors";
import { keys } from "../cache/keys";
import type { Cache } from "../cache/port";
import { randomBase64Url, randomHex, timingSafeEqual } from "../crypto/hash";
import { ApiError } from "../http/errors";
import {
  type RateLimiter,
  RateLimiterUnavailableError,
  type RateLimitResult,
  type RateLimitRule,
} from "./rate-limiter";
import { sha256HexSync } from "./token-hash";

/**
 * Guest sessions for anonymous readers of reference data.
 *
 * Token: `guest_<32 hex id>:<43 char base64url secret>`. Only the secret's SHA-256 is stored
 * (256 random bits need no slow hash). A session record never changes after it is created, so
 * each process keeps validated records in a small local cache until they expire: a warm guest
 * request then costs one round trip, the atomic rate-limit call.
 */
export interface GuestSession {
  id: string;
  secret_hash: string;
  ip: string;
  user_agent: string | null;
  created_at: string;
  expires_at: string;
}

export type GuestSessionStatus = "active" | "created" | "degraded";

export interface GuestAccess {
  status: GuestSessionStatus;
  /** Absent only in degraded mode (the session store is unreachable). */
  session?: GuestSession;
  rateLimit: RateLimitResult;
  rule: RateLimitRule;
  /** The full token, present only on the response that created the session. */
  newSessionToken?: string;
  /** Why a supplied token was not used. */
  rejected?: "unknown-or-expired" | "not-a-guest-token";
}

const TOKEN = /^guest_[0-9a-f]{32}:[A-Za-z0-9_-]{43}$/;
const LOCAL_SESSIONS_MAX = 10_000;

const ID_AT = "guest_".length;
const SECRET_AT = ID_AT + 32 + 1;

export function parseGuestToken(token: string): { id: string; secret: string } | null {
  // `test` and slices: a regex with captures costs more, and the shape fixes the offsets.
  if (!TOKEN.test(token)) return null;
  return { id: token.slice(ID_AT, SECRET_AT - 1), secret: token.slice(SECRET_AT) };
}

export function looksLikeGuestToken(token: string): boolean {
  return token.startsWith("guest_");
}

function addressOf(ip: string | (() => string)): string {
  return typeof ip === "function" ? ip() : ip;
}

/** Redis slow or down (cache or limiter): the gate applies the degraded policy. */
function isUnavailable(error: unknown): boolean {
  return error instanceof CacheUnavailableError || error instanceof RateLimiterUnavailableError;
}

export class GuestSessions {
  readonly sessionRule: RateLimitRule;
  readonly ipRule: RateLimitRule;
  /** When Redis is unreachable: reference data stays up, limited per IP in this process. */
  readonly degradedRule: RateLimitRule = {
    name: "guest-degraded-ip",
    limit: 120,
    windowSeconds: 60,
  };
  /** Validated records this process has seen, with their expiry parsed once. */
  private readonly local = new Map<string, { session: GuestSession; expiresAt: number }>();

  constructor(
    private readonly deps: {
      cache: Cache;
      rateLimiter: RateLimiter;
      fallbackLimiter: RateLimiter;
      config: Config["guest"];
      now?: () => number;
    },
  ) {
    this.sessionRule = {
      name: "guest-session",
      limit: deps.config.requestLimit,
      windowSeconds: deps.config.ttlSeconds,
    };
    this.ipRule = {
      name: "guest-ip-sessions",
      limit: deps.config.ipDailySessionLimit,
      windowSeconds: 86_400,
    };
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /**
   * Admits one request: an existing session (counted against its quota) or a new one (counted
   * against the IP's daily quota). Exhaustion is a 429, never a silent new session.
   */
  async admit(input: {
    token?: string;
    /** The client's address, or how to get it: admitting a known session never reads it. */
    ip: string | (() => string);
    userAgent?: string;
  }): Promise<GuestAccess> {
    let rejected: GuestAccess["rejected"];
    try {
      if (input.token) {
        const parsed = parseGuestToken(input.token);
        if (!parsed)
          rejected = looksLikeGuestToken(input.token) ? "unknown-or-expired" : "not-a-guest-token";
        let session: GuestSession | undefined;
        if (parsed) {
          // A session this process holds is checked without an asynchronous hop.
          const held = this.held(parsed.id, parsed.secret, this.now());
          session =
            held === undefined ? await this.find(parsed.id, parsed.secret) : (held ?? undefined);
        }
        if (session) {
          return this.counted(
            session,
            await this.deps.rateLimiter.limit(this.sessionRule, session.id),
          );
        }
        rejected ??= "unknown-or-expired";
      }
      const created = await this.create({ ip: addressOf(input.ip), userAgent: input.userAgent });
      return { ...created, ...(rejected ? { rejected } : {}) };
    } catch (error) {
      if (!isUnavailable(error)) throw error;
      const ip = addressOf(input.ip);
      const rateLimit = await this.deps.fallbackLimiter.limit(this.degradedRule, ip);
      if (!rateLimit.success) {
        throw tooManyRequests(
          "Too many requests from this address",
          this.degradedRule,
          rateLimit,
          this.now(),
        );
      }
      return { status: "degraded", rateLimit, rule: this.degradedRule };
    }
  }

  /**
   * `admit` without an asynchronous hop, for the warm-read fast lane (ADR 0016): a well-formed
   * token of a session this process holds, counted by a limiter that counts in this process.
   * Undefined when it cannot be decided that way (nothing counted then): `admit` decides it.
   * Throws what `admit` would: the 429 of an exhausted session.
   */
  admitHeld(token: string): GuestAccess | undefined {
    const limiter = this.deps.rateLimiter;
    if (limiter.limitNow === undefined) return undefined;
    const parsed = parseGuestToken(token);
    if (!parsed) return undefined;
    const session = this.held(parsed.id, parsed.secret, this.now());
    if (!session) return undefined;
    let rateLimit: RateLimitResult;
    try {
      rateLimit = limiter.limitNow(this.sessionRule, session.id);
    } catch (error) {
      // Not counted: `admit` decides it, with the degraded policy (in-process limiters are
      // never unavailable, so this is a safeguard for a limiter that breaks that contract).
      if (isUnavailable(error)) return undefined;
      throw error;
    }
    return this.counted(session, rateLimit);
  }

  /** A known session's request, counted: admitted, or the 429 of its exhausted quota. */
  private counted(session: GuestSession, rateLimit: RateLimitResult): GuestAccess {
    if (!rateLimit.success) {
      throw tooManyRequests(
        "Guest session request limit reached",
        this.sessionRule,
        rateLimit,
        this.now(),
      );
    }
    return { status: "active", session, rateLimit, rule: this.sessionRule };
  }

  /** Reads a session's state without counting a request (for `GET /session` after admit). */
  async find(id: string, secret: string): Promise<GuestSession | undefined> {
    const now = this.now();
    const held = this.held(id, secret, now);
    if (held !== undefined) return held ?? undefined;
    const session =
      (await this.deps.cache.get<GuestSession>(keys.guest("session", id))) ?? undefined;
    if (!session || Date.parse(session.expires_at) <= now) return undefined;
    this.remember(session);
    return verified(session, secret);
  }

  /**
   * A session held in this process: the record when the secret matches, `null` when it does not,
   * undefined when this process does not hold it (or no longer: expired).
   */
  private held(id: string, secret: string, now: number): GuestSession | null | undefined {
    const entry = this.local.get(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.local.delete(id);
      return undefined;
    }
    return verified(entry.session, secret) ?? null;
  }

  private async create(input: { ip: string; userAgent?: string }): Promise<GuestAccess> {
    const now = this.now();
    const ipLimit = await this.deps.rateLimiter.limit(this.ipRule, input.ip);
    if (!ipLimit.success) {
      throw tooManyRequests(
        "Too many new guest sessions from this address today",
        this.ipRule,
        ipLimit,
        now,
      );
    }
    const id = randomHex(16);
    const secret = randomBase64Url(32);
    const session: GuestSession = {
      id,
      secret_hash: sha256HexSync(secret),
      ip: input.ip,
      user_agent: input.userAgent?.slice(0, 512) ?? null,
      created_at: new Date(now).toISOString(),
      expires_at: new Date(now + this.deps.config.ttlSeconds * 1000).toISOString(),
    };
    await this.deps.cache.set(keys.guest("session", id), session, {
      ttlSeconds: this.deps.config.ttlSeconds,
    });
    this.remember(session);
    const rateLimit = await this.deps.rateLimiter.limit(this.sessionRule, id);
    return {
      status: "created",
      session,
      rateLimit,
      rule: this.sessionRule,
      newSessionToken: `guest_${id}:${secret}`,
    };
  }

  private remember(session: GuestSession): void {
    if (this.local.size >= LOCAL_SESSIONS_MAX) {
      const oldest = this.local.keys().next().value;
      if (oldest !== undefined) this.local.delete(oldest);
    }
    this.local.set(session.id, { session, expiresAt: Date.parse(session.expires_at) });
  }
}

/** The session if `secret` is its secret. */
function verified(session: GuestSession, secret: string): GuestSession | undefined {
  // Synchronous SHA-256: WebCrypto's digest is a thread-pool hop, 10x the cost on the hot path.
  return timingSafeEqual(sha256HexSync(secret), session.secret_hash) ? session : undefined;
}

/** RateLimit headers (IETF draft) for any limited response. */
export function rateLimitHeaders(
  rule: RateLimitRule,
  result: RateLimitResult,
  now: number,
): Record<string, string> {
  const resetSeconds = Math.max(0, Math.ceil((result.reset - now) / 1000));
  return {
    "RateLimit-Limit": String(result.limit),
    "RateLimit-Remaining": String(result.remaining),
    "RateLimit-Reset": String(resetSeconds),
    "RateLimit-Policy": `${rule.limit};w=${rule.windowSeconds}`,
  };
}

function tooManyRequests(
  message: string,
  rule: RateLimitRule,
  result: RateLimitResult,
  now: number,
): ApiError {
  const headers = rateLimitHeaders(rule, result, now);
  return new ApiError("RATE_LIMITED", message, {
    headers: { ...headers, "Retry-After": String(Math.max(1, Number(headers["RateLimit-Reset"]))) },
  });
}
