import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, randomIp, type TestApp } from "../support/harness";

/**
 * The documented policy (docs/decisions/0003): when Redis is slow or down, public reference data
 * stays available (fail open), limited per IP by an in-process limiter, and no session is issued.
 */
let hanging: Server;
let slow: TestApp;
let down: TestApp;

beforeAll(async () => {
  // Accepts connections and never answers: the slow-Redis case.
  hanging = createServer(() => {});
  await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
  const port = (hanging.address() as AddressInfo).port;
  const common = { CACHE_TIMEOUT_MS: "50", UPSTASH_REDIS_REST_TOKEN: "irrelevant" };
  slow = await createTestApp({ ...common, UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${port}` });
  // Nothing listens on port 9 (discard): connection refused, the Redis-down case.
  down = await createTestApp({ ...common, UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9" });
});

afterAll(async () => {
  await slow.close();
  await down.close();
  hanging.closeAllConnections();
  await new Promise((resolve) => hanging.close(resolve));
});

describe.each([
  ["slow", () => slow],
  ["down", () => down],
])("Redis %s", (_, app) => {
  it("still serves reference data, marked degraded, without issuing a session", async () => {
    const started = performance.now();
    const res = await app().request("/api/v1/languages/active", { ip: randomIp() });
    expect(res.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(res.headers.get("x-guest-session-status")).toBe("degraded");
    expect(res.headers.get("x-guest-session")).toBeNull();
    expect(res.headers.get("ratelimit-policy")).toBe("120;w=60");
    const body = await res.json();
    expect(body.success).toBe(true);
    expect(Array.isArray(body.data)).toBe(true);
  });

  it("limits each address in process while degraded", async () => {
    const ip = randomIp();
    let last = 0;
    for (let i = 0; i < 121; i++) last = (await app().request("/health/live", { ip })).status;
    expect(last).toBe(200); // health is not a guest route
    const statuses: number[] = [];
    for (let i = 0; i < 121; i++) {
      statuses.push((await app().request("/api/v1/countries/gdpr", { ip })).status);
    }
    expect(statuses.slice(0, 120).every((s) => s === 200)).toBe(true);
    expect(statuses[120]).toBe(429);
  });

  it("answers 503 on GET /session, which has no session to show", async () => {
    const res = await app().request("/api/v1/session", { ip: randomIp() });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("30");
    expect((await res.json()).errors[0].code).toBe("SERVICE_UNAVAILABLE");
  });

  it("stays ready on /health/ready: the API can still serve", async () => {
    const res = await app().request("/health/ready");
    expect(res.status).toBe(200);
  });

  it("refuses sign-in (fails closed): without a limiter, password guessing is unlimited", async () => {
    const user = await app().createUser();
    const res = await app().request("/api/v1/auth/login", {
      method: "POST",
      ip: randomIp(),
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: user.username, password: user.password }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("30");
    const body = await res.json();
    expect(body.errors[0].code).toBe("SERVICE_UNAVAILABLE");
    expect(body.data).toBeNull();
  });

  it("keeps the admin API usable, its limits counted in process", async () => {
    const user = await app().createUser({ permissions: ["regions:read"] });
    const headers = { authorization: `Bearer ${await user.token()}` };
    const ip = randomIp();
    const remaining: number[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await app().request("/api/v1/regions", { ip, headers });
      expect(res.status).toBe(200);
      remaining.push(Number(res.headers.get("ratelimit-remaining")));
    }
    // Counted: the second request has one less left than the first.
    expect(remaining[1]).toBe((remaining[0] as number) - 1);
    // And authorization still holds: without the permission, 403.
    const other = await app().createUser();
    const denied = await app().request("/api/v1/regions", {
      ip,
      headers: { authorization: `Bearer ${await other.token()}` },
    });
    expect(denied.status).toBe(403);
  });

  it("reports the cache as down on /health with 503", async () => {
    const res = await app().request("/health");
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.data.checks.cache.status).toBe("down");
    expect(body.data.checks.database.status).toBe("up");
  });
});
