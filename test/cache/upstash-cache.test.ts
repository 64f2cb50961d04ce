/**
 * Adapter behaviour that needs no Redis: timeouts, the factory, memory eviction.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CacheUnavailableError,
  createCache,
  createUpstashRedis,
  keys,
  MemoryCache,
  UpstashCache,
} from "../../src/core/cache";

describe("UpstashCache against a server that never answers", () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    // Accepts the request and then says nothing, like a Redis stuck behind a slow network.
    server = createServer(() => {});
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("rejects with CacheUnavailableError within about timeoutMs", async () => {
    const cache = new UpstashCache(createUpstashRedis({ url, token: "t" }), { timeoutMs: 100 });
    const started = performance.now();
    const error = await cache.get(keys.platform("slow")).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(CacheUnavailableError);
    expect(error).toMatchObject({ reason: "timeout", operation: "get" });
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(elapsed).toBeLessThan(600);
  });

  it("times out every operation, including the multi-step ones", async () => {
    const cache = new UpstashCache(createUpstashRedis({ url, token: "t", timeoutMs: 150 }), {
      timeoutMs: 100,
    });
    const key = keys.platform("slow");
    const calls = [
      cache.set(key, 1, { ttlSeconds: 5 }),
      cache.getMany([key]),
      cache.setIfAbsent(key, 1, { ttlSeconds: 5 }),
      cache.delete(key),
      cache.deleteByPrefix(key),
      cache.increment(key, { ttlSeconds: 5 }),
      cache.ttl(key),
      cache.ping(),
    ];
    const results = await Promise.allSettled(calls);
    for (const result of results) {
      expect(result.status).toBe("rejected");
      if (result.status === "rejected") {
        expect(result.reason).toBeInstanceOf(CacheUnavailableError);
      }
    }
  });

  it("maps the client's own abort signal to a timeout too", async () => {
    // The fetch signal fires first here; the error must still be the typed one.
    const cache = new UpstashCache(createUpstashRedis({ url, token: "t", timeoutMs: 50 }), {
      timeoutMs: 1000,
    });
    const started = performance.now();
    const error = await cache.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CacheUnavailableError);
    expect(error).toMatchObject({ reason: "timeout" });
    expect(performance.now() - started).toBeLessThan(900);
  });
});

describe("UpstashCache against an unreachable server", () => {
  it("reports the backend as unavailable", async () => {
    // Grab a free port and release it, so nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    const redis = createUpstashRedis({ url: `http://127.0.0.1:${port}`, token: "t" });
    const cache = new UpstashCache(redis, { timeoutMs: 2000 });
    const error = await cache.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CacheUnavailableError);
    expect(error).toMatchObject({ reason: "backend", operation: "ping" });
  });
});

describe("UpstashCache error reporting", () => {
  it("keeps cached values out of the error message and cause", async () => {
    const server = createServer((_req, res) => {
      res.writeHead(400, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ error: "ERR something failed" }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const cache = new UpstashCache(createUpstashRedis({ url, token: "t" }), { timeoutMs: 2000 });
      const error = await cache
        .set(keys.platform("secret"), { email: "someone@example.com" }, { ttlSeconds: 5 })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CacheUnavailableError);
      expect(error).toMatchObject({ reason: "backend", operation: "set" });
      const text = `${String(error)} ${String((error as Error).cause)}`;
      expect(text).toContain("ERR something failed");
      expect(text).not.toContain("someone@example.com");
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe("createCache", () => {
  it("uses Upstash when URL and token are both set", () => {
    const cache = createCache({ upstashUrl: "https://example.upstash.io", upstashToken: "t" });
    expect(cache).toBeInstanceOf(UpstashCache);
    expect(cache.kind).toBe("upstash");
  });

  it.each([
    [{}],
    [{ upstashUrl: "https://example.upstash.io" }],
    [{ upstashToken: "t" }],
    [{ upstashUrl: "", upstashToken: "" }],
  ])("falls back to memory for %j", (config) => {
    const cache = createCache(config);
    expect(cache).toBeInstanceOf(MemoryCache);
    expect(cache.kind).toBe("memory");
  });
});

describe("MemoryCache specifics", () => {
  it("evicts the least recently written entries beyond maxEntries", async () => {
    const cache = new MemoryCache({ maxEntries: 3 });
    const k = (n: number) => keys.platform("evict", n);
    for (const n of [1, 2, 3]) await cache.set(k(n), n, { ttlSeconds: 60 });
    await cache.set(k(1), "rewritten", { ttlSeconds: 60 });
    await cache.set(k(4), 4, { ttlSeconds: 60 });
    expect(await cache.getMany([k(1), k(2), k(3), k(4)])).toEqual(["rewritten", null, 3, 4]);
  });

  it("rounds the TTL like Redis and expires exactly after the deadline", async () => {
    let now = 0;
    const cache = new MemoryCache({ now: () => now });
    const key = keys.platform("clock");
    await cache.set(key, "v", { ttlSeconds: 10 });
    now = 4_400;
    expect(await cache.ttl(key)).toBe(6);
    now = 10_000;
    expect(await cache.get(key)).toBe("v");
    now = 10_001;
    expect(await cache.get(key)).toBeNull();
  });

  it("does not count expired keys as deleted", async () => {
    let now = 0;
    const cache = new MemoryCache({ now: () => now });
    await cache.set(keys.platform("gone", 1), 1, { ttlSeconds: 1 });
    await cache.set(keys.platform("gone", 2), 2, { ttlSeconds: 60 });
    now = 5_000;
    expect(await cache.deleteByPrefix(keys.platform("gone"))).toBe(1);
    expect(await cache.delete(keys.platform("gone", 1))).toBe(0);
  });
});
