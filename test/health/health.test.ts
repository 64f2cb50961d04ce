import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSql } from "../../src/core/db/admin";
import { createTestApp, type TestApp } from "../support/harness";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe("health", () => {
  it("GET /health checks the database and the cache, with latency", async () => {
    const res = await t.request("/health");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const { data } = await res.json();
    expect(data).toMatchObject({
      status: "healthy",
      version: "0.1.0",
      environment: "test",
      checks: { database: { status: "up" }, cache: { status: "up", kind: t.deps.cache.kind } },
    });
    expect(data.checks.database.latency_ms).toBeGreaterThanOrEqual(0);
  });

  it("GET /health/live and /health/ready answer", async () => {
    expect((await (await t.request("/health/live")).json()).data).toEqual({ status: "alive" });
    expect((await (await t.request("/health/ready")).json()).data).toEqual({ status: "ready" });
  });

  it("GET / describes the service and links the docs", async () => {
    const { data } = await (await t.request("/")).json();
    expect(data).toEqual({
      name: "NeoAdmin API",
      version: "0.1.0",
      environment: "test",
      docs: { scalar: "/docs", swagger: "/swagger", redoc: "/redoc", openapi: "/openapi.json" },
    });
    const off = await createTestApp({ DOCS_ENABLED: "false" });
    expect((await (await off.request("/")).json()).data.docs).toBeNull();
    await off.close();
  });

  describe("with the database down", () => {
    let down: TestApp;
    beforeAll(async () => {
      down = await createTestApp();
      await down.deps.db.end();
      // Nothing listens on port 9: the driver's connection is refused.
      down.deps.db = createSql("postgres://postgres@127.0.0.1:9/none", { max: 1 });
    });
    afterAll(() => down.close());

    it("/health is 503 and names no host or driver detail", async () => {
      const res = await down.request("/health");
      expect(res.status).toBe(503);
      const body = await res.json();
      expect(body.data.status).toBe("unhealthy");
      expect(body.data.checks.database).toMatchObject({ status: "down", error: "unreachable" });
      expect(JSON.stringify(body)).not.toContain("127.0.0.1:9");
    });

    it("/health/ready is 503 in the envelope, /health/live stays 200", async () => {
      const ready = await down.request("/health/ready");
      expect(ready.status).toBe(503);
      expect((await ready.json()).errors[0].code).toBe("SERVICE_UNAVAILABLE");
      expect((await down.request("/health/live")).status).toBe(200);
    });
  });
});
