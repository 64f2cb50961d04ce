import type { ExecutionContext } from "hono";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import worker from "../src/worker";

/**
 * The Workers entry in process, with an env as `wrangler dev` builds it but without KEYCLOAK_URL
 * (the end-to-end suite runs it on workerd with an identity provider). The module keeps one
 * isolate, so this file has one configuration.
 */
const env = {
  ENVIRONMENT: "test",
  LOG_LEVEL: "error",
  // Low, so the client-address test below reaches it.
  GUEST_IP_DAILY_SESSION_LIMIT: "2",
  HYPERDRIVE: { connectionString: inject("databaseUrl") },
};
const pending: Promise<unknown>[] = [];
const ctx = {
  waitUntil: (promise: Promise<unknown>) => void pending.push(promise),
  passThroughOnException: () => {},
  props: {},
} as ExecutionContext;

const call = (path: string, init?: RequestInit) =>
  worker.fetch(new Request(`http://worker.test${path}`, init), env, ctx);

beforeAll(() => {
  // The logger writes JSON lines to stdout; a 503 is logged at error level.
  vi.spyOn(console, "log").mockImplementation(() => {});
});

afterAll(async () => {
  vi.restoreAllMocks();
  // Each request's database clients, ended in waitUntil.
  await Promise.all(pending);
});

describe("workers entry without KEYCLOAK_URL", () => {
  it("refuses protected routes with 503 rather than letting anyone in", async () => {
    for (const headers of [{}, { authorization: "Bearer x.y.z" }] as Record<string, string>[]) {
      const response = await call("/api/v1/auth/me", { headers });
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({
        success: false,
        data: null,
        errors: [{ code: "SERVICE_UNAVAILABLE" }],
      });
    }
    const create = await call("/api/v1/regions", {
      method: "POST",
      headers: { authorization: "Bearer x.y.z", "content-type": "application/json" },
      body: "{}",
    });
    expect(create.status).toBe(503);
  });

  it("still serves the routes that need no sign-in", async () => {
    const response = await call("/health/live");
    expect(response.status).toBe(200);
  });
});

describe("workers entry: the client address", () => {
  it("is CF-Connecting-IP (X-Forwarded-For is not trusted by default)", async () => {
    // Each request without a token opens a session, counted per client address and day.
    const from = (ip: string, forwardedFor: string) =>
      call("/api/v1/session", {
        headers: { "cf-connecting-ip": ip, "x-forwarded-for": forwardedFor },
      });
    const a = "198.51.100.7";
    for (let i = 0; i < 2; i++) {
      const opened = await from(a, `203.0.113.${i + 1}`);
      expect(opened.status).toBe(200);
      expect(opened.headers.get("x-guest-session-status")).toBe("created");
    }
    // A third from the same address is refused, whatever X-Forwarded-For claims.
    const refused = await from(a, "203.0.113.99");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).not.toBeNull();
    // Another address still gets its own quota.
    expect((await from("198.51.100.8", "203.0.113.1")).status).toBe(200);
  });
});
