import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CacheUnavailableError } from "../../src/core/cache/errors";
import { LocalCache } from "../../src/core/cache/local-cache";
import { MemoryCache } from "../../src/core/cache/memory";
import type { Cache } from "../../src/core/cache/port";
import type { CachedJson } from "../../src/core/cache/read-through";
import { createLogger } from "../../src/core/log/logger";
import {
  type ReferenceDataRepository,
  referenceDataRepository,
} from "../../src/features/reference-data/repository";
import {
  type ReferenceDataContext,
  referenceData,
  TTL,
} from "../../src/features/reference-data/service";
import { createTestApp, type TestApp } from "../support/harness";

/**
 * Reference data is read cache-first with the original's lifetimes (TTL): the in-process tier,
 * then the shared cache, then the database, each filling the ones before it. The real
 * repository on the run's database, counted; the clock is the test's.
 */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

interface Setup {
  ctx: ReferenceDataContext;
  clock: { now: number };
  loads: Record<string, number>;
  cacheReads: { count: number };
  warnings: Record<string, unknown>[];
}

function setup(cache?: Cache): Setup {
  const clock = { now: Date.parse("2026-11-26T12:00:00Z") };
  const now = () => clock.now;
  const loads: Record<string, number> = {};
  const real = referenceDataRepository(t.deps.db);
  const repository = new Proxy(real, {
    get(target, name: string) {
      const method = target[name as keyof ReferenceDataRepository] as (...a: unknown[]) => unknown;
      return (...args: unknown[]) => {
        loads[name] = (loads[name] ?? 0) + 1;
        return method.apply(target, args);
      };
    },
  });
  const shared = cache ?? new MemoryCache({ now });
  const cacheReads = { count: 0 };
  const counted: Cache = Object.assign(Object.create(shared) as Cache, {
    get: <T>(key: Parameters<Cache["get"]>[0]) => {
      cacheReads.count += 1;
      return shared.get<T>(key);
    },
  });
  const warnings: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: "warn",
    sink: (line) => warnings.push(JSON.parse(line) as Record<string, unknown>),
  });
  return {
    ctx: {
      repository,
      cache: {
        cache: counted,
        local: new LocalCache<CachedJson>({ maxEntries: 100, now }),
        logger,
      },
    },
    clock,
    loads,
    cacheReads,
    warnings,
  };
}

describe("reference data is read cache-first", () => {
  it("the database once, then the in-process tier, then the shared cache, until the TTL ends", async () => {
    const { ctx, clock, loads, cacheReads } = setup();
    const first = await referenceData.activeCurrencies(ctx);
    expect(loads.activeCurrencies).toBe(1);
    expect(JSON.parse(first.json).length).toBeGreaterThan(100);

    // In-process tier: neither the shared cache nor the database.
    const readsBefore = cacheReads.count;
    expect(await referenceData.activeCurrencies(ctx)).toBe(first);
    expect(cacheReads.count).toBe(readsBefore);
    expect(loads.activeCurrencies).toBe(1);

    // After the in-process minute: the shared cache answers, same body and ETag.
    clock.now += 61_000;
    const shared = await referenceData.activeCurrencies(ctx);
    expect(shared).toEqual(first);
    expect(cacheReads.count).toBe(readsBefore + 1);
    expect(loads.activeCurrencies).toBe(1);

    // Just before the list's TTL ends it is still cached; after it, the database again.
    clock.now = clock.now - 61_000 + TTL.activeList * 1000 - 1000;
    await referenceData.activeCurrencies(ctx);
    expect(loads.activeCurrencies).toBe(1);
    clock.now += 2000 + 61_000;
    await referenceData.activeCurrencies(ctx);
    expect(loads.activeCurrencies).toBe(2);
  });

  it("filtered lists live TTL.filteredList, single items TTL.item", async () => {
    const { ctx, clock, loads } = setup();
    const q = { page: 1, page_size: 5, sort: "code" } as Parameters<
      typeof referenceData.listCurrencies
    >[1];
    await referenceData.listCurrencies(ctx, q);
    await referenceData.currency(ctx, "EUR");
    clock.now += Math.min(TTL.filteredList, TTL.item) * 1000 - 1000;
    await referenceData.listCurrencies(ctx, q);
    await referenceData.currency(ctx, "EUR");
    expect(loads).toMatchObject({ listCurrencies: 1, currency: 1 });
    // The in-process copy taken just now may outlive the shared entry by its minute at most.
    clock.now += 2000 + 60_000;
    await referenceData.listCurrencies(ctx, q);
    expect(loads.listCurrencies).toBe(2);
    // Items live twice as long as filtered lists.
    expect(TTL.item).toBeGreaterThan(TTL.filteredList);
    await referenceData.currency(ctx, "EUR");
    expect(loads.currency).toBe(1);
    clock.now += (TTL.item - TTL.filteredList) * 1000;
    await referenceData.currency(ctx, "EUR");
    expect(loads.currency).toBe(2);
  });

  it("an unknown code is cached too: a probe costs the database one query", async () => {
    const { ctx, loads } = setup();
    for (let i = 0; i < 3; i++) {
      await expect(referenceData.currency(ctx, "QQQ")).rejects.toMatchObject({
        code: "NOT_FOUND",
      });
    }
    expect(loads.currency).toBe(1);
  });

  it("with the shared cache down, reads go to the database and say so in the log", async () => {
    const down = new MemoryCache();
    const fail = () => Promise.reject(new CacheUnavailableError("get", "backend"));
    down.get = fail;
    down.set = fail;
    const { ctx, loads, warnings } = setup(down);
    ctx.cache.local = undefined;
    const a = await referenceData.activeLanguages(ctx);
    const b = await referenceData.activeLanguages(ctx);
    expect(b).toEqual(a);
    expect(loads.activeLanguages).toBe(2);
    expect(warnings.map((w) => w.msg)).toContain("cache unavailable, reading from the database");
  });
});
