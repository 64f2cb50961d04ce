import { describe, expect, it, vi } from "vitest";
import {
  createIntrospector,
  IntrospectionUnavailableError,
  type IntrospectorOptions,
} from "../../src/core/auth/introspection";
import { CacheUnavailableError } from "../../src/core/cache/errors";
import { keys } from "../../src/core/cache/keys";
import { MemoryCache } from "../../src/core/cache/memory";
import type { Cache } from "../../src/core/cache/port";
import { sha256Hex } from "../../src/core/crypto/hash";

const KC = "https://id.example.test";
const REALM = "tenant-a";
const ISS = `${KC}/realms/${REALM}`;
const START = Date.UTC(2030, 0, 1);
const TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl";

function setup(answer: (realm: string, token: string) => Promise<unknown>, cache?: Cache) {
  let clock = START;
  const memory = new MemoryCache({ now: () => clock });
  const introspect = vi.fn(answer);
  const logged: { message: string; fields: Record<string, unknown> }[] = [];
  const options: IntrospectorOptions = {
    keycloakUrl: KC,
    introspect,
    cache: cache ?? memory,
    now: () => clock,
    logError: (message, fields) => logged.push({ message, fields }),
  };
  return {
    introspector: createIntrospector(options),
    introspect,
    cache: memory,
    logged,
    seconds: () => Math.floor(clock / 1000),
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

const active = (overrides: Record<string, unknown> = {}) =>
  Promise.resolve({
    active: true,
    iss: ISS,
    sub: "user-1",
    username: "ada",
    client_id: "admin-console",
    scope: "openid email",
    sid: "session-1",
    token_type: "Bearer",
    ...overrides,
  });

async function cacheKey(token = TOKEN) {
  return keys.platform("introspection", REALM, await sha256Hex(token));
}

function downCache(): Cache {
  const fail = (operation: string) => () =>
    Promise.reject(new CacheUnavailableError(operation, "timeout", { timeoutMs: 250 }));
  return {
    kind: "upstash",
    get: fail("get"),
    getMany: fail("getMany"),
    set: fail("set"),
    setIfAbsent: fail("setIfAbsent"),
    delete: fail("delete"),
    deleteByPrefix: fail("deleteByPrefix"),
    increment: fail("increment"),
    ttl: fail("ttl"),
    ping: fail("ping"),
  };
}

describe("introspection", () => {
  it("returns an active answer and caches it by token hash, never by the token", async () => {
    const { introspector, introspect, cache, seconds } = setup(() => active());
    const context = { realm: REALM, exp: seconds() + 300 };
    const result = await introspector.check(TOKEN, context);
    expect(result).toEqual({
      active: true,
      sub: "user-1",
      username: "ada",
      client_id: "admin-console",
      scope: "openid email",
      sid: "session-1",
    });
    expect(introspect).toHaveBeenCalledWith(REALM, TOKEN);
    expect(await introspector.check(TOKEN, context)).toEqual(result);
    expect(introspect).toHaveBeenCalledTimes(1);
    expect(await cache.get(await cacheKey())).toEqual(result);
  });

  it("caches for at most 60 s", async () => {
    const { introspector, introspect, cache, seconds, advance } = setup(() => active());
    await introspector.check(TOKEN, { realm: REALM, exp: seconds() + 3600 });
    expect(await cache.ttl(await cacheKey())).toBe(60);
    advance(60_001);
    await introspector.check(TOKEN, { realm: REALM, exp: seconds() + 3600 });
    expect(introspect).toHaveBeenCalledTimes(2);
  });

  it("caches for at most the token's remaining life", async () => {
    const { introspector, cache, seconds } = setup(() => active());
    await introspector.check(TOKEN, { realm: REALM, exp: seconds() + 17 });
    expect(await cache.ttl(await cacheKey())).toBe(17);
  });

  it("caches for at most the answer's exp when it is earlier", async () => {
    const { introspector, cache, seconds } = setup(() =>
      active({ exp: Math.floor(START / 1000) + 9 }),
    );
    await introspector.check(TOKEN, { realm: REALM, exp: seconds() + 300 });
    expect(await cache.ttl(await cacheKey())).toBe(9);
  });

  it("does not cache a token with under a second to live, nor ask about an expired one", async () => {
    const { introspector, introspect, cache, seconds } = setup(() => active());
    await introspector.check(TOKEN, { realm: REALM, exp: seconds() + 0.5 });
    expect(await cache.get(await cacheKey())).toBeNull();
    expect(await introspector.check(TOKEN, { realm: REALM, exp: seconds() - 1 })).toEqual({
      active: false,
    });
    expect(introspect).toHaveBeenCalledTimes(1);
  });

  it("caches an inactive answer (a revoked token stays revoked)", async () => {
    const { introspector, introspect, seconds } = setup(() => Promise.resolve({ active: false }));
    const context = { realm: REALM, exp: seconds() + 300 };
    expect(await introspector.check(TOKEN, context)).toEqual({ active: false });
    expect(await introspector.check(TOKEN, context)).toEqual({ active: false });
    expect(introspect).toHaveBeenCalledTimes(1);
  });

  it("keeps realms apart", async () => {
    const { introspector, introspect, seconds } = setup((realm) =>
      realm === REALM ? active() : Promise.resolve({ active: false }),
    );
    expect((await introspector.check(TOKEN, { realm: REALM, exp: seconds() + 60 })).active).toBe(
      true,
    );
    expect(
      (await introspector.check(TOKEN, { realm: "tenant-b", exp: seconds() + 60 })).active,
    ).toBe(false);
    expect(introspect).toHaveBeenCalledTimes(2);
  });

  it.each([
    ["null", null],
    ["a string", "active"],
    ["an array", [{ active: true }]],
    ["active as a string", { active: "true", iss: ISS, sub: "user-1" }],
    ["active missing", { iss: ISS, sub: "user-1" }],
    ["active with another issuer", { active: true, iss: `${KC}/realms/master`, sub: "user-1" }],
    ["active without iss", { active: true, sub: "user-1" }],
    ["active without sub", { active: true, iss: ISS }],
    ["active with an empty sub", { active: true, iss: ISS, sub: "" }],
    ["active with a non-numeric exp", { active: true, iss: ISS, sub: "user-1", exp: "later" }],
  ])("fails closed on a malformed answer: %s (logged, not cached)", async (_, answer) => {
    const { introspector, introspect, logged, seconds } = setup(() => Promise.resolve(answer));
    const context = { realm: REALM, exp: seconds() + 300 };
    expect(await introspector.check(TOKEN, context)).toEqual({ active: false });
    expect(logged).toHaveLength(1);
    expect(logged[0]?.message).toBe("introspection answer refused");
    expect(JSON.stringify(logged)).not.toContain(TOKEN);
    await introspector.check(TOKEN, context);
    expect(introspect).toHaveBeenCalledTimes(2);
  });

  it("does not treat a failed introspection call as active (nor cache it)", async () => {
    let calls = 0;
    const { introspector, seconds } = setup(async () => {
      calls += 1;
      if (calls === 1) throw new TypeError("fetch failed");
      return active();
    });
    const context = { realm: REALM, exp: seconds() + 300 };
    await expect(introspector.check(TOKEN, context)).rejects.toBeInstanceOf(
      IntrospectionUnavailableError,
    );
    expect((await introspector.check(TOKEN, context)).active).toBe(true);
  });

  it("asks Keycloak directly when the cache is down", async () => {
    const { introspector, introspect, seconds } = setup(() => active(), downCache());
    const context = { realm: REALM, exp: seconds() + 300 };
    expect((await introspector.check(TOKEN, context)).active).toBe(true);
    expect((await introspector.check(TOKEN, context)).active).toBe(true);
    expect(introspect).toHaveBeenCalledTimes(2);
    const revoked = setup(() => Promise.resolve({ active: false }), downCache());
    expect((await revoked.introspector.check(TOKEN, context)).active).toBe(false);
  });

  it("survives a cache that fails only on write", async () => {
    const memory = new MemoryCache();
    vi.spyOn(memory, "set").mockRejectedValue(new CacheUnavailableError("set", "backend"));
    const { introspector, logged, seconds } = setup(() => active(), memory);
    expect((await introspector.check(TOKEN, { realm: REALM, exp: seconds() + 60 })).active).toBe(
      true,
    );
    expect(logged.map((entry) => entry.message)).toEqual(["introspection cache write failed"]);
  });

  it("ignores a cached value it did not write", async () => {
    const { introspector, introspect, cache, seconds } = setup(() => active());
    await cache.set(await cacheKey(), { active: "yes" }, { ttlSeconds: 60 });
    expect((await introspector.check(TOKEN, { realm: REALM, exp: seconds() + 60 })).active).toBe(
      true,
    );
    expect(introspect).toHaveBeenCalledTimes(1);
  });

  it("shares one call between concurrent checks of the same token", async () => {
    const { introspector, introspect, seconds } = setup(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return active();
    });
    const context = { realm: REALM, exp: seconds() + 300 };
    const results = await Promise.all(
      Array.from({ length: 10 }, () => introspector.check(TOKEN, context)),
    );
    expect(results.every((result) => result.active)).toBe(true);
    expect(introspect).toHaveBeenCalledTimes(1);
  });

  it("refuses an invalid realm name", async () => {
    const { introspector, introspect, seconds } = setup(() => active());
    await expect(
      introspector.check(TOKEN, { realm: "../master", exp: seconds() + 60 }),
    ).rejects.toMatchObject({ reason: "invalid_realm" });
    expect(introspect).not.toHaveBeenCalled();
  });
});
