import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis";
import type { CircuitBreaker } from "../cache/circuit-breaker";
import {
  type RateLimiter,
  RateLimiterUnavailableError,
  type RateLimitResult,
  type RateLimitRule,
} from "./rate-limiter";

/**
 * `@upstash/ratelimit` behind the RateLimiter port. One Ratelimit per rule, kept for the life of
 * the limiter (its ephemeral cache remembers blocked identifiers and saves round trips).
 * Its own timeout would silently allow the request; ours raises instead, so the caller's
 * documented policy (fail open or closed per route class) decides.
 */
export class UpstashRateLimiter implements RateLimiter {
  readonly kind = "upstash" as const;
  private readonly limiters = new Map<string, Ratelimit>();

  constructor(
    private readonly redis: Redis,
    private readonly options: {
      timeoutMs: number;
      waitUntil?: (p: Promise<unknown>) => void;
      /** Shared with the cache: both talk to the same Redis. */
      breaker?: CircuitBreaker;
    },
  ) {}

  async limit(rule: RateLimitRule, identifier: string): Promise<RateLimitResult> {
    const result = await this.withTimeout(() => this.limiter(rule).limit(identifier));
    this.options.waitUntil?.(result.pending);
    return {
      success: result.success,
      limit: result.limit,
      remaining: result.remaining,
      reset: result.reset,
    };
  }

  async peek(rule: RateLimitRule, identifier: string): Promise<RateLimitResult> {
    const result = await this.withTimeout(() => this.limiter(rule).getRemaining(identifier));
    return {
      success: result.remaining >= 1,
      limit: result.limit,
      remaining: result.remaining,
      reset: result.reset,
    };
  }

  private limiter(rule: RateLimitRule): Ratelimit {
    const id = `${rule.name}:${rule.limit}:${rule.windowSeconds}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      limiter = new Ratelimit({
        redis: this.redis,
        prefix: `ratelimit:${rule.name}`,
        limiter: Ratelimit.tokenBucket(rule.limit, `${rule.windowSeconds} s`, rule.limit),
        analytics: false,
        timeout: 0,
      });
      this.limiters.set(id, limiter);
    }
    return limiter;
  }

  private async withTimeout<T>(run: () => Promise<T>): Promise<T> {
    const { breaker } = this.options;
    if (breaker && !breaker.allow()) {
      throw new RateLimiterUnavailableError("rate limiter skipped: Redis circuit open");
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new RateLimiterUnavailableError(
              `rate limiter timed out after ${this.options.timeoutMs} ms`,
            ),
          ),
        this.options.timeoutMs,
      );
    });
    try {
      const result = await Promise.race([run(), timeout]);
      breaker?.success();
      return result;
    } catch (error) {
      breaker?.failure();
      if (error instanceof RateLimiterUnavailableError) throw error;
      throw new RateLimiterUnavailableError("rate limiter backend failed", { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}
