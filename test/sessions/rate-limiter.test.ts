import { describe, expect, inject, it } from "vitest";
import {
  MemoryRateLimiter,
  type RateLimiter,
  RateLimiterUnavailableError,
} from "../../src/core/auth/rate-limiter";
import { UpstashRateLimiter } from "../../src/core/auth/rate-limiter.upstash";
import { CircuitBreaker } from "../../src/core/cache/circuit-breaker";
import { createUpstashRedis } from "../../src/core/cache/upstash";

const upstash = inject("upstash");
const limiters: [string, () => RateLimiter][] = [["memory", () => new MemoryRateLimiter()]];
if (upstash) {
  limiters.push([
    "upstash",
    () => new UpstashRateLimiter(createUpstashRedis(upstash), { timeoutMs: 1000 }),
  ]);
}

const unique = () => `t${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`;

describe.each(limiters)("rate limiter contract: %s", (_, make) => {
  it("allows exactly the quota, then refuses with the reset time", async () => {
    const limiter = make();
    const rule = { name: unique(), limit: 3, windowSeconds: 60 };
    const started = Date.now();
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await limiter.limit(rule, "a"));
    expect(results.map((r) => r.success)).toEqual([true, true, true, false]);
    expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0]);
    for (const r of results) {
      expect(r.limit).toBe(3);
      expect(r.reset).toBeGreaterThanOrEqual(started + 59_000);
      expect(r.reset).toBeLessThanOrEqual(Date.now() + 60_000);
    }
  });

  it("keeps identifiers apart, and peek does not count", async () => {
    const limiter = make();
    const rule = { name: unique(), limit: 2, windowSeconds: 60 };
    await limiter.limit(rule, "a");
    expect((await limiter.peek(rule, "a")).remaining).toBe(1);
    expect((await limiter.peek(rule, "a")).remaining).toBe(1);
    expect((await limiter.peek(rule, "b")).remaining).toBe(2);
    expect((await limiter.limit(rule, "b")).success).toBe(true);
  });

  it("is atomic under concurrency", async () => {
    const limiter = make();
    const rule = { name: unique(), limit: 10, windowSeconds: 60 };
    const results = await Promise.all(Array.from({ length: 25 }, () => limiter.limit(rule, "c")));
    expect(results.filter((r) => r.success)).toHaveLength(10);
  });
});

describe("memory limiter windows", () => {
  it("anchors the window at the first hit and refills it whole when it ends", async () => {
    let now = 1_000_000;
    const limiter = new MemoryRateLimiter(() => now);
    const rule = { name: "w", limit: 2, windowSeconds: 10 };
    now += 7_000; // an epoch-aligned window would end 3 s from here
    expect((await limiter.limit(rule, "x")).reset).toBe(now + 10_000);
    await limiter.limit(rule, "x");
    expect((await limiter.limit(rule, "x")).success).toBe(false);
    now += 9_999;
    expect((await limiter.limit(rule, "x")).success).toBe(false);
    now += 1;
    const refilled = await limiter.limit(rule, "x");
    expect(refilled).toMatchObject({ success: true, remaining: 1 });
  });

  it("stays bounded in memory", async () => {
    const limiter = new MemoryRateLimiter(Date.now, 100);
    const rule = { name: "b", limit: 1, windowSeconds: 60 };
    for (let i = 0; i < 500; i++) await limiter.limit(rule, `id${i}`);
    expect(
      (limiter as unknown as { buckets: Map<string, unknown> }).buckets.size,
    ).toBeLessThanOrEqual(100);
  });
});

describe("upstash limiter failures", () => {
  it("raises RateLimiterUnavailableError instead of silently allowing, and opens the breaker", async () => {
    const breaker = new CircuitBreaker({ openMs: 60_000 });
    const limiter = new UpstashRateLimiter(
      createUpstashRedis({ url: "http://127.0.0.1:9", token: "x" }),
      { timeoutMs: 200, breaker },
    );
    const rule = { name: "down", limit: 1, windowSeconds: 60 };
    await expect(limiter.limit(rule, "a")).rejects.toThrow(RateLimiterUnavailableError);
    expect(breaker.state).toBe("open");
    const started = performance.now();
    await expect(limiter.limit(rule, "a")).rejects.toThrow(/circuit open/);
    expect(performance.now() - started).toBeLessThan(20);
  });
});
