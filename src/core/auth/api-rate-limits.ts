import type { Context } from "hono";
import type { Sql } from "postgres";
import { CacheUnavailableError } from "../cache/errors";
import { keys } from "../cache/keys";
import { LocalCache } from "../cache/local-cache";
import type { Cache } from "../cache/port";
import type { AppEnv } from "../deps";
import { ApiError } from "../http/errors";
import { rateLimitHeaders } from "./guest-sessions";
import {
  MemoryRateLimiter,
  type RateLimiter,
  RateLimiterUnavailableError,
  type RateLimitResult,
  type RateLimitRule,
} from "./rate-limiter";

/** A row of `admin.api_rate_limits` as enforcement needs it. */
export interface ApiRateLimit {
  limit_name: string;
  limit_type: "user" | "tenant" | "ip" | "api_key" | "global";
  requests_per_window: number;
  window_size_seconds: number;
  burst_allowance: number;
  applies_to_users: string[] | null;
  applies_to_tenants: string[] | null;
  applies_to_endpoints: string[] | null;
}

const SHARED_TTL_SECONDS = 300;
const LOCAL_TTL_SECONDS = 30;
/** The limits change rarely; each process keeps them briefly so a request reads no table. */
const local = new LocalCache<ApiRateLimit[]>({ maxEntries: 1 });
/** Redis down: the same rules, counted in this process (bounded abuse per instance, see ADR 0003). */
const fallback = new MemoryRateLimiter();

export async function loadApiRateLimits(sql: Sql, cache: Cache): Promise<ApiRateLimit[]> {
  const key = keys.platform("api-rate-limits");
  const near = local.get(key);
  if (near) return near;
  try {
    const hit = await cache.get<ApiRateLimit[]>(key);
    if (hit) {
      local.set(key, hit, LOCAL_TTL_SECONDS);
      return hit;
    }
  } catch (error) {
    if (!(error instanceof CacheUnavailableError)) throw error;
  }
  const rows = await sql<ApiRateLimit[]>`
    select limit_name, limit_type, requests_per_window, window_size_seconds, burst_allowance,
           applies_to_users::text[] as applies_to_users, applies_to_tenants::text[] as applies_to_tenants,
           applies_to_endpoints
    from admin.api_rate_limits where is_active order by limit_name`;
  await cache.set(key, rows, { ttlSeconds: SHARED_TTL_SECONDS }).catch(() => {});
  local.set(key, rows, LOCAL_TTL_SECONDS);
  return rows;
}

/** Called after any change to `admin.api_rate_limits`. */
export async function forgetApiRateLimits(cache: Cache): Promise<void> {
  local.clear();
  await cache.delete(keys.platform("api-rate-limits"));
}

function identifierFor(
  limit: ApiRateLimit,
  who: { userId: string; ip: string; tenantId?: string },
): string | undefined {
  switch (limit.limit_type) {
    case "user":
      return who.userId;
    case "ip":
      return who.ip;
    case "tenant":
      return who.tenantId;
    default:
      // `global` and `api_key` are reserved: API keys do not exist yet, and one global counter
      // would be a single hot key shared by every instance.
      return undefined;
  }
}

function applies(
  limit: ApiRateLimit,
  path: string,
  who: { userId: string; tenantId?: string },
): boolean {
  if (limit.applies_to_users?.length && !limit.applies_to_users.includes(who.userId)) return false;
  if (
    limit.applies_to_tenants?.length &&
    (!who.tenantId || !limit.applies_to_tenants.includes(who.tenantId))
  ) {
    return false;
  }
  if (
    limit.applies_to_endpoints?.length &&
    !limit.applies_to_endpoints.some((prefix) => path.startsWith(prefix))
  ) {
    return false;
  }
  return true;
}

async function hit(
  limiter: RateLimiter,
  rule: RateLimitRule,
  identifier: string,
): Promise<RateLimitResult> {
  try {
    return await limiter.limit(rule, identifier);
  } catch (error) {
    if (!(error instanceof RateLimiterUnavailableError)) throw error;
    return fallback.limit(rule, identifier);
  }
}

/**
 * Counts an authenticated request against every applicable limit (per user, per address, per
 * tenant when the route names one). The tightest result goes into the RateLimit headers; any
 * exhausted limit is a 429 with Retry-After.
 */
export async function enforceApiRateLimits(
  c: Context<AppEnv>,
  who: { userId: string; tenantId?: string },
): Promise<void> {
  const { db, cache, rateLimiter } = c.get("deps");
  const limits = await loadApiRateLimits(db, cache);
  const subject = { ...who, ip: c.get("clientIp")() };
  let tightest: { rule: RateLimitRule; result: RateLimitResult } | undefined;
  for (const limit of limits) {
    const identifier = identifierFor(limit, subject);
    if (!identifier || !applies(limit, c.req.path, subject)) continue;
    const rule: RateLimitRule = {
      name: `api-${limit.limit_name}`,
      limit: limit.requests_per_window + limit.burst_allowance,
      windowSeconds: limit.window_size_seconds,
    };
    const result = await hit(rateLimiter, rule, identifier);
    if (!result.success) {
      const headers = rateLimitHeaders(rule, result, Date.now());
      throw new ApiError("RATE_LIMITED", `Rate limit ${limit.limit_name} exceeded`, {
        headers: {
          ...headers,
          "Retry-After": String(Math.max(1, Number(headers["RateLimit-Reset"]))),
        },
      });
    }
    if (!tightest || result.remaining < tightest.result.remaining) tightest = { rule, result };
  }
  if (tightest) {
    for (const [name, value] of Object.entries(
      rateLimitHeaders(tightest.rule, tightest.result, Date.now()),
    )) {
      c.header(name, value);
    }
  }
}
