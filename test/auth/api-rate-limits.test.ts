import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forgetApiRateLimits, loadApiRateLimits } from "../../src/core/auth/api-rate-limits";
import { createTestApp, randomIp, type TestApp } from "../support/harness";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe("API rate limits", () => {
  it("loads the seeded defaults", async () => {
    await forgetApiRateLimits(t.deps.cache);
    const limits = await loadApiRateLimits(t.deps.db, t.deps.cache);
    expect(limits.map((l) => l.limit_name)).toEqual(
      expect.arrayContaining(["user", "ip", "tenant"]),
    );
    expect(limits.find((l) => l.limit_name === "user")).toMatchObject({
      requests_per_window: 60,
      window_size_seconds: 60,
    });
  });

  it("limits a user by the rows of admin.api_rate_limits, with RateLimit headers and a 429", async () => {
    const user = await t.createUser();
    const name = `test-user-${user.id.slice(-8)}`;
    await t.deps.db`
      insert into admin.api_rate_limits (limit_name, limit_type, requests_per_window, window_size_seconds, applies_to_users)
      values (${name}, 'user', 2, 60, ${[user.id]}::uuid[])`;
    await forgetApiRateLimits(t.deps.cache);
    try {
      const token = await user.token();
      const ip = randomIp();
      const call = () =>
        t.request("/api/v1/auth/me", { ip, headers: { authorization: `Bearer ${token}` } });
      const first = await call();
      expect(first.status).toBe(200);
      expect(first.headers.get("ratelimit-limit")).toBe("2");
      expect(first.headers.get("ratelimit-remaining")).toBe("1");
      expect((await call()).status).toBe(200);
      const limited = await call();
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
      const body = await limited.json();
      expect(body.errors[0].code).toBe("RATE_LIMITED");
      expect(body.message).toContain(name);

      // Another user is not affected by this user's limit.
      const other = await t.createUser();
      const res = await t.request("/api/v1/auth/me", {
        ip,
        headers: { authorization: `Bearer ${await other.token()}` },
      });
      expect(res.status).toBe(200);
    } finally {
      await t.deps.db`delete from admin.api_rate_limits where limit_name = ${name}`;
      await forgetApiRateLimits(t.deps.cache);
    }
  });

  it("limits per address across users", async () => {
    const name = "test-ip-endpoint";
    await t.deps.db`
      insert into admin.api_rate_limits (limit_name, limit_type, requests_per_window, window_size_seconds, applies_to_endpoints)
      values (${name}, 'ip', 1, 60, ${["/api/v1/auth/me"]})`;
    await forgetApiRateLimits(t.deps.cache);
    try {
      const ip = randomIp();
      const a = await t.createUser();
      const b = await t.createUser();
      const me = async (token: string) =>
        (await t.request("/api/v1/auth/me", { ip, headers: { authorization: `Bearer ${token}` } }))
          .status;
      expect(await me(await a.token())).toBe(200);
      expect(await me(await b.token())).toBe(429);
      // Other endpoints are outside this limit.
      const other = await t.request("/api/v1/permissions/check?permissions=users:read", {
        ip,
        headers: { authorization: `Bearer ${await b.token()}` },
      });
      expect(other.status).toBe(200);
    } finally {
      await t.deps.db`delete from admin.api_rate_limits where limit_name = ${name}`;
      await forgetApiRateLimits(t.deps.cache);
    }
  });
});
