import { CacheUnavailableError } from "../cache/errors";
import { keys } from "../cache/keys";
import type { Cache } from "../cache/port";
import { sha256Hex } from "../crypto/hash";
import { assertValidRealm, normalizeKeycloakUrl, realmIssuer } from "./token-realm";

/**
 * Token introspection (RFC 7662) for the routes that must see revocation, which local JWT
 * verification cannot. The answer is cached briefly by token hash: at most 60 s and never
 * beyond the token's own life, so a revocation shows within a minute.
 *
 * Fails closed: an answer we cannot read counts as inactive (and is logged, not cached), and an
 * unreachable introspection endpoint is an `IntrospectionUnavailableError` (a 503 for the
 * caller), never "active". Only the cache may be skipped: when it is down we ask Keycloak directly.
 */
export interface IntrospectionResult {
  active: boolean;
  sub?: string;
  username?: string;
  client_id?: string;
  scope?: string;
  sid?: string;
  exp?: number;
}

export interface IntrospectorOptions {
  /** Same base URL as the token verifier; `iss` of an active answer must match the realm. */
  keycloakUrl: string;
  /** Calls the realm's introspection endpoint and returns its raw JSON (injected: tests, fakes). */
  introspect: (realm: string, token: string) => Promise<unknown>;
  cache: Cache;
  /** Milliseconds clock (default `Date.now`). */
  now?: () => number;
  /** Upper bound of the cache TTL (default 60 s). */
  maxTtlSeconds?: number;
  /** Malformed answers and cache failures. Never receives the token. */
  logError?: (message: string, fields: Record<string, unknown>) => void;
}

export interface Introspector {
  /** `exp`: the token's expiry in seconds (from the verified token), which bounds the cache TTL. */
  check(token: string, context: { realm: string; exp: number }): Promise<IntrospectionResult>;
}

/** Keycloak could not be asked. Deliberately not an inactive answer: that would be a 401. */
export class IntrospectionUnavailableError extends Error {
  override readonly name = "IntrospectionUnavailableError";

  constructor(realm: string, options: { cause?: unknown } = {}) {
    super(`token introspection for realm ${realm} failed`, options);
  }
}

const INACTIVE: IntrospectionResult = Object.freeze({ active: false });

export function createIntrospector(options: IntrospectorOptions): Introspector {
  const keycloakUrl = normalizeKeycloakUrl(options.keycloakUrl);
  const now = options.now ?? Date.now;
  const maxTtl = options.maxTtlSeconds ?? 60;
  const log = options.logError ?? (() => {});
  /** Concurrent checks of one token share one call to Keycloak. */
  const inflight = new Map<string, Promise<IntrospectionResult>>();

  async function check(
    token: string,
    context: { realm: string; exp: number },
  ): Promise<IntrospectionResult> {
    const { realm, exp } = context;
    assertValidRealm(realm);
    const remaining = exp - now() / 1000;
    // An expired token is inactive whatever Keycloak would say; no need to ask.
    if (!(remaining > 0)) return INACTIVE;
    const key = keys.platform("introspection", realm, await sha256Hex(token));

    let cacheUp = true;
    try {
      const cached = readResult(await options.cache.get<unknown>(key));
      if (cached) return cached;
    } catch (error) {
      if (!(error instanceof CacheUnavailableError)) throw error;
      cacheUp = false;
    }

    let pending = inflight.get(key);
    if (!pending) {
      pending = ask(realm, token, remaining, cacheUp ? key : undefined).finally(() => {
        inflight.delete(key);
      });
      inflight.set(key, pending);
    }
    return pending;
  }

  async function ask(
    realm: string,
    token: string,
    remaining: number,
    cacheKey: Parameters<Cache["set"]>[0] | undefined,
  ): Promise<IntrospectionResult> {
    let answer: unknown;
    try {
      answer = await options.introspect(realm, token);
    } catch (cause) {
      throw new IntrospectionUnavailableError(realm, { cause });
    }
    const result = readAnswer(answer, realmIssuer(keycloakUrl, realm));
    if (typeof result === "string") {
      log("introspection answer refused", { realm, problem: result });
      return INACTIVE;
    }
    const answerRemaining =
      result.active && result.exp !== undefined ? result.exp - now() / 1000 : remaining;
    const ttlSeconds = Math.floor(Math.min(maxTtl, remaining, answerRemaining));
    if (cacheKey && ttlSeconds >= 1) {
      try {
        await options.cache.set(cacheKey, result, { ttlSeconds });
      } catch (error) {
        if (!(error instanceof CacheUnavailableError)) throw error;
        log("introspection cache write failed", { realm, error: error.message });
      }
    }
    return result;
  }

  return { check };
}

/** The answer we keep, or why it was refused (a short fixed text for the log). */
function readAnswer(answer: unknown, issuer: string): IntrospectionResult | string {
  if (typeof answer !== "object" || answer === null || Array.isArray(answer)) {
    return "not a JSON object";
  }
  const fields = answer as Record<string, unknown>;
  if (typeof fields.active !== "boolean") return "active is not a boolean";
  if (!fields.active) return INACTIVE;
  if (fields.iss !== issuer) return "iss does not match the realm";
  if (typeof fields.sub !== "string" || fields.sub.length === 0) return "sub missing";
  if (
    fields.exp !== undefined &&
    (typeof fields.exp !== "number" || !Number.isFinite(fields.exp))
  ) {
    return "exp is not a number";
  }
  return activeResult(fields.sub, fields);
}

function activeResult(sub: string, fields: Record<string, unknown>): IntrospectionResult {
  const result: IntrospectionResult = { active: true, sub };
  for (const name of ["username", "client_id", "scope", "sid"] as const) {
    const value = fields[name];
    if (typeof value === "string") result[name] = value;
  }
  if (typeof fields.exp === "number" && Number.isFinite(fields.exp)) result.exp = fields.exp;
  return result;
}

/** A cached value we wrote; anything else (an old format, a foreign writer) is a miss. */
function readResult(value: unknown): IntrospectionResult | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const fields = value as Record<string, unknown>;
  if (fields.active === false) return INACTIVE;
  if (fields.active !== true || typeof fields.sub !== "string") return undefined;
  return activeResult(fields.sub, fields);
}
