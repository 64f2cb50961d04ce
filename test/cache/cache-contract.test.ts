/**
 * One behavioural contract for every Cache adapter. The Upstash adapter runs through the
 * REST proxy against a real Redis when TEST_REDIS_URL is set, and is skipped otherwise.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cache, type CacheKey, keys, MemoryCache } from "../../src/core/cache";
import { createUpstashRedis, UpstashCache } from "../../src/core/cache/upstash";
import { RespClient } from "../support/resp-client";
import { startUpstashProxy } from "../support/upstash-proxy";

const redisUrl = process.env.TEST_REDIS_URL;

interface Harness {
  cache: Cache;
  /** Lets time pass for TTL expiry: a fake clock for memory, a real wait for Redis. */
  advance(ms: number): Promise<void>;
  /** Writes many entries quickly; on Redis one pipelined batch instead of one request each. */
  seed(entries: readonly (readonly [CacheKey, unknown])[], ttlSeconds: number): Promise<void>;
  close(): Promise<void>;
}

interface Adapter {
  name: string;
  enabled: boolean;
  open(): Promise<Harness>;
}

const adapters: Adapter[] = [
  {
    name: "memory",
    enabled: true,
    async open() {
      let now = 1_700_000_000_000;
      const cache = new MemoryCache({ now: () => now });
      return {
        cache,
        async advance(ms) {
          now += ms;
        },
        async seed(entries, ttlSeconds) {
          for (const [slot, value] of entries) await cache.set(slot, value, { ttlSeconds });
        },
        async close() {},
      };
    },
  },
  {
    name: "upstash (REST proxy → real Redis)",
    enabled: Boolean(redisUrl),
    async open() {
      const proxy = await startUpstashProxy({
        redisUrl: redisUrl ?? "",
        token: `test-${randomUUID()}`,
      });
      // A generous budget: these tests are about behaviour, not latency, and CI machines stall.
      const redis = createUpstashRedis({ url: proxy.url, token: proxy.token });
      const direct = new RespClient(redisUrl ?? "");
      return {
        cache: new UpstashCache(redis, { timeoutMs: 5000 }),
        advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        async seed(entries, ttlSeconds) {
          // Stored exactly as the adapter stores values: JSON text with an expiry.
          const replies = await direct.sendBatch(
            entries.map(([slot, value]) => ["SET", slot, JSON.stringify(value), "EX", ttlSeconds]),
          );
          expect(replies.every((reply) => reply === "OK")).toBe(true);
        },
        async close() {
          await direct.close();
          await proxy.close();
        },
      };
    },
  },
];

describe.each(adapters)("Cache contract: $name", (adapter) => {
  describe.skipIf(!adapter.enabled)("behaviour", () => {
    const run = randomUUID();
    const root = keys.platform("cache-contract", run);
    const key = (...parts: string[]): CacheKey => keys.platform("cache-contract", run, ...parts);
    let harness: Harness;
    let cache: Cache;

    beforeAll(async () => {
      harness = await adapter.open();
      cache = harness.cache;
    });

    afterAll(async () => {
      if (!harness) return;
      await cache.deleteByPrefix(root);
      await harness.close();
    });

    it("reports its kind", () => {
      expect(["memory", "upstash"]).toContain(cache.kind);
    });

    it("answers ping", async () => {
      await expect(cache.ping()).resolves.toBeUndefined();
    });

    it("returns null for a missing key", async () => {
      expect(await cache.get(key("missing"))).toBeNull();
      expect(await cache.ttl(key("missing"))).toBeNull();
    });

    it("stores a value with a TTL", async () => {
      await cache.set(key("basic"), { hello: "world" }, { ttlSeconds: 60 });
      expect(await cache.get(key("basic"))).toEqual({ hello: "world" });
      const ttl = await cache.ttl(key("basic"));
      expect(ttl).not.toBeNull();
      expect(ttl).toBeGreaterThanOrEqual(59);
      expect(ttl).toBeLessThanOrEqual(60);
    });

    it("overwrites a value and its TTL", async () => {
      await cache.set(key("overwrite"), "first", { ttlSeconds: 60 });
      await cache.set(key("overwrite"), "second", { ttlSeconds: 300 });
      expect(await cache.get(key("overwrite"))).toBe("second");
      expect(await cache.ttl(key("overwrite"))).toBeGreaterThan(60);
    });

    it("expires values, NX claims and counters after their TTL", async () => {
      // One shared wait: on Redis it is real time.
      await cache.set(key("short"), "soon gone", { ttlSeconds: 1 });
      expect(await cache.setIfAbsent(key("short-nx"), 1, { ttlSeconds: 1 })).toBe(true);
      await cache.increment(key("short-counter"), { ttlSeconds: 1, by: 10 });
      expect(await cache.get(key("short"))).toBe("soon gone");

      await harness.advance(1100);

      expect(await cache.get(key("short"))).toBeNull();
      expect(await cache.ttl(key("short"))).toBeNull();
      expect(await cache.setIfAbsent(key("short-nx"), 2, { ttlSeconds: 60 })).toBe(true);
      expect(await cache.get(key("short-nx"))).toBe(2);
      expect(await cache.increment(key("short-counter"), { ttlSeconds: 60 })).toBe(1);
      expect(await cache.ttl(key("short-counter"))).toBeGreaterThanOrEqual(59);
    });

    it("round-trips strings that look like numbers, JSON or nothing unchanged", async () => {
      const values = ["123", "-1.5e3", "true", "null", '{"a":1}', "[1,2]", '"quoted"', "", "OK"];
      const slots = values.map((_, i) => key("strings", String(i)));
      for (const [i, value] of values.entries()) {
        const slot = slots[i];
        if (slot) await cache.set(slot, value, { ttlSeconds: 60 });
      }
      for (const [i, slot] of slots.entries()) {
        const value = await cache.get<string>(slot);
        expect(typeof value).toBe("string");
        expect(value).toBe(values[i]);
      }
      expect(await cache.getMany<string>(slots)).toEqual(values);
    });

    it("round-trips objects, arrays, numbers, booleans and unicode", async () => {
      const value = {
        id: 42,
        ratio: 0.25,
        nested: { list: [1, "two", null, { three: true }] },
        text: "Grüße, 世界 🚀",
        empty: {},
      };
      await cache.set(key("object"), value, { ttlSeconds: 60 });
      await cache.set(key("number"), 7, { ttlSeconds: 60 });
      await cache.set(key("bool"), false, { ttlSeconds: 60 });
      await cache.set(key("array"), ["a", 1], { ttlSeconds: 60 });
      expect(await cache.get(key("object"))).toEqual(value);
      expect(await cache.get(key("number"))).toBe(7);
      expect(await cache.get(key("bool"))).toBe(false);
      expect(await cache.get(key("array"))).toEqual(["a", 1]);
    });

    it("does not let callers mutate the cached copy", async () => {
      const value = { list: [1, 2] };
      await cache.set(key("isolated"), value, { ttlSeconds: 60 });
      value.list.push(3);
      const first = await cache.get<{ list: number[] }>(key("isolated"));
      first?.list.push(4);
      expect(await cache.get(key("isolated"))).toEqual({ list: [1, 2] });
    });

    it("rejects values that are not JSON-serialisable and invalid TTLs", async () => {
      await expect(cache.set(key("bad"), undefined, { ttlSeconds: 60 })).rejects.toThrow(TypeError);
      await expect(cache.set(key("bad"), "x", { ttlSeconds: 0 })).rejects.toThrow(RangeError);
      await expect(cache.set(key("bad"), "x", { ttlSeconds: 1.5 })).rejects.toThrow(RangeError);
      expect(await cache.get(key("bad"))).toBeNull();
    });

    it("getMany returns values in order with null for missing keys", async () => {
      await cache.set(key("many", "a"), "A", { ttlSeconds: 60 });
      await cache.set(key("many", "c"), { c: 3 }, { ttlSeconds: 60 });
      const result = await cache.getMany([
        key("many", "a"),
        key("many", "b"),
        key("many", "c"),
        key("many", "a"),
      ]);
      expect(result).toEqual(["A", null, { c: 3 }, "A"]);
      expect(await cache.getMany([])).toEqual([]);
    });

    it("setIfAbsent stores only once", async () => {
      expect(await cache.setIfAbsent(key("nx"), "first", { ttlSeconds: 60 })).toBe(true);
      expect(await cache.setIfAbsent(key("nx"), "second", { ttlSeconds: 60 })).toBe(false);
      expect(await cache.get(key("nx"))).toBe("first");
      expect(await cache.ttl(key("nx"))).toBeGreaterThanOrEqual(59);
    });

    it("delete removes keys and counts only existing ones", async () => {
      await cache.set(key("del", "1"), 1, { ttlSeconds: 60 });
      await cache.set(key("del", "2"), 2, { ttlSeconds: 60 });
      expect(await cache.delete(key("del", "1"), key("del", "2"), key("del", "3"))).toBe(2);
      expect(await cache.get(key("del", "1"))).toBeNull();
      expect(await cache.delete(key("del", "1"))).toBe(0);
      expect(await cache.delete()).toBe(0);
    });

    it("deleteByPrefix removes every key under the prefix, across SCAN pages", async () => {
      const total = 1200;
      const bulk = Array.from({ length: total }, (_, i) => key("bulk", "item", String(i)));
      await harness.seed(
        bulk.map((slot, i) => [slot, i] as const),
        120,
      );
      expect(await cache.get(bulk[777] ?? key("none"))).toBe(777);
      await cache.set(key("bulk-sibling"), "keep", { ttlSeconds: 120 });
      await cache.set(key("other", "bulk"), "keep", { ttlSeconds: 120 });

      expect(await cache.deleteByPrefix(key("bulk", "item"))).toBe(total);

      const sample = [bulk[0], bulk[499], bulk[500], bulk[total - 1]].filter(
        (slot): slot is CacheKey => slot !== undefined,
      );
      expect(await cache.getMany(sample)).toEqual([null, null, null, null]);
      expect(await cache.get(key("bulk-sibling"))).toBe("keep");
      expect(await cache.get(key("other", "bulk"))).toBe("keep");
      expect(await cache.deleteByPrefix(key("bulk", "item"))).toBe(0);
    });

    it("increment is atomic under concurrency", async () => {
      const counter = key("counter", "concurrent");
      const results = await Promise.all(
        Array.from({ length: 100 }, () => cache.increment(counter, { ttlSeconds: 60 })),
      );
      expect(new Set(results).size).toBe(100);
      expect(Math.max(...results)).toBe(100);
      expect(await cache.get(counter)).toBe(100);
    });

    it("increment sets the TTL on creation and never extends it", async () => {
      const counter = key("counter", "ttl");
      expect(await cache.increment(counter, { ttlSeconds: 100 })).toBe(1);
      expect(await cache.increment(counter, { ttlSeconds: 1000, by: 4 })).toBe(5);
      const ttl = await cache.ttl(counter);
      expect(ttl).toBeGreaterThanOrEqual(99);
      expect(ttl).toBeLessThanOrEqual(100);
      expect(await cache.increment(counter, { ttlSeconds: 100, by: -2 })).toBe(3);
    });

    it("increment refuses a non-integer value and a fractional step", async () => {
      await cache.set(key("counter", "text"), "not a number", { ttlSeconds: 60 });
      await expect(cache.increment(key("counter", "text"), { ttlSeconds: 60 })).rejects.toThrow();
      await expect(
        cache.increment(key("counter", "fraction"), { ttlSeconds: 60, by: 0.5 }),
      ).rejects.toThrow(RangeError);
    });
  });
});
