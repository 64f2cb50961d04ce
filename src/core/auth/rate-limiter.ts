/**
 * Rate limiting port. Redis-backed deployments use `@upstash/ratelimit` (atomic Lua scripts);
 * the embedded default uses the in-process limiter with the same semantics.
 *
 * Every rule is a quota: at most `limit` hits per `windowSeconds`, the window anchored at the
 * identifier's first hit and refilled whole when it ends. That is `@upstash/ratelimit`'s
 * `tokenBucket(limit, window, limit)`, and it is what "1000 requests per guest session" and
 * "5000 new sessions per IP per day" mean: an epoch-aligned fixed window would hand a session
 * that straddles a window boundary twice its quota.
 */
export interface RateLimitRule {
  /** Rule name, part of the Redis key prefix (`ratelimit:{name}:...`). */
  name: string;
  limit: number;
  windowSeconds: number;
}

export interface RateLimitResult {
  success: boolean;
  limit: number;
  remaining: number;
  /** Unix epoch milliseconds when the window refills. */
  reset: number;
}

export interface RateLimiter {
  readonly kind: "memory" | "upstash";
  /** Counts one hit for `identifier` under `rule` and says whether it was allowed. */
  limit(rule: RateLimitRule, identifier: string): Promise<RateLimitResult>;
  /** Reads the state without counting a hit. */
  peek(rule: RateLimitRule, identifier: string): Promise<RateLimitResult>;
  /**
   * `limit` without the asynchronous hop, for limiters that count in this process (and so are
   * never unavailable: it throws no RateLimiterUnavailableError). A remote limiter leaves it
   * out; the warm-read fast lane (ADR 0016) then takes the asynchronous path.
   */
  limitNow?(rule: RateLimitRule, identifier: string): RateLimitResult;
}

/** Raised when the limiter's backend does not answer in time; callers apply their policy. */
export class RateLimiterUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RateLimiterUnavailableError";
  }
}

interface Bucket {
  tokens: number;
  refilledAt: number;
}

/** In-process token buckets: exact for one process (the embedded default). */
export class MemoryRateLimiter implements RateLimiter {
  readonly kind = "memory" as const;
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {}

  async limit(rule: RateLimitRule, identifier: string): Promise<RateLimitResult> {
    return this.limitNow(rule, identifier);
  }

  limitNow(rule: RateLimitRule, identifier: string): RateLimitResult {
    const now = this.now();
    const key = `${rule.name}:${identifier}`;
    const held = this.current(rule, key, now);
    const bucket = held ?? { tokens: rule.limit, refilledAt: now };
    const reset = bucket.refilledAt + rule.windowSeconds * 1000;
    if (bucket.tokens < 1) return { success: false, limit: rule.limit, remaining: 0, reset };
    bucket.tokens -= 1;
    // A bucket already in the map is counted in place; only a new one is stored.
    if (held === undefined) this.store(key, bucket, now, rule);
    return { success: true, limit: rule.limit, remaining: bucket.tokens, reset };
  }

  async peek(rule: RateLimitRule, identifier: string): Promise<RateLimitResult> {
    const now = this.now();
    const bucket = this.current(rule, `${rule.name}:${identifier}`, now);
    const tokens = bucket?.tokens ?? rule.limit;
    const reset = (bucket?.refilledAt ?? now) + rule.windowSeconds * 1000;
    return { success: tokens >= 1, limit: rule.limit, remaining: tokens, reset };
  }

  private current(rule: RateLimitRule, key: string, now: number): Bucket | undefined {
    const bucket = this.buckets.get(key);
    if (!bucket) return undefined;
    const windowMs = rule.windowSeconds * 1000;
    if (now >= bucket.refilledAt + windowMs) {
      const refills = Math.floor((now - bucket.refilledAt) / windowMs);
      bucket.tokens = Math.min(rule.limit, bucket.tokens + refills * rule.limit);
      bucket.refilledAt += refills * windowMs;
    }
    return bucket;
  }

  private store(key: string, bucket: Bucket, now: number, rule: RateLimitRule): void {
    if (!this.buckets.has(key) && this.buckets.size >= this.maxKeys) {
      // A full bucket is the same as no bucket: drop those first, then the oldest insertions.
      for (const [k, b] of this.buckets) {
        if (now >= b.refilledAt + rule.windowSeconds * 1000) this.buckets.delete(k);
      }
      for (const k of this.buckets.keys()) {
        if (this.buckets.size < this.maxKeys) break;
        this.buckets.delete(k);
      }
    }
    this.buckets.set(key, bucket);
  }
}
