import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../support/harness";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ CORS_ORIGINS: "https://console.example", MAX_BODY_BYTES: "2048" });
});
afterAll(() => t.close());

function expectEnvelope(body: Record<string, unknown>, success: boolean) {
  expect(Object.keys(body).sort()).toEqual(["data", "errors", "message", "metadata", "success"]);
  expect(body.success).toBe(success);
  const metadata = body.metadata as { timestamp: string; request_id: string };
  expect(Date.parse(metadata.timestamp)).not.toBeNaN();
  expect(metadata.request_id).toMatch(/\S{8,}/);
}

describe("the envelope on every path", () => {
  it("404 for an unknown route, with a stable code", async () => {
    const res = await t.request("/api/v1/nope");
    expect(res.status).toBe(404);
    const body = await res.json();
    expectEnvelope(body, false);
    expect(body.data).toBeNull();
    expect(body.errors[0].code).toBe("NOT_FOUND");
  });

  it("405 with Allow when the path exists under another method", async () => {
    const res = await t.request("/api/v1/currencies", { method: "DELETE" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
    const body = await res.json();
    expectEnvelope(body, false);
    expect(body.errors[0].code).toBe("METHOD_NOT_ALLOWED");
  });

  it("405 for a parameterised path too", async () => {
    const res = await t.request("/api/v1/countries/DE", { method: "PUT" });
    expect(res.status).toBe(405);
  });

  it("400 with field-level details for invalid query parameters", async () => {
    const res = await t.request("/api/v1/currencies?page_size=101&page=0");
    expect(res.status).toBe(400);
    const body = await res.json();
    expectEnvelope(body, false);
    const fields = body.errors.map((e: { field: string }) => e.field).sort();
    expect(fields).toEqual(["page", "page_size"]);
    for (const error of body.errors) {
      expect(error).toMatchObject({ code: "VALIDATION_ERROR", location: "query" });
    }
  });

  it("a 500 says nothing internal, and the log line has the details", async () => {
    const probe = await createTestApp();
    probe.app.get("/boom", () => {
      throw new Error("secret internals at db.internal:5432");
    });
    const res = await probe.request("/boom", { headers: { "x-request-id": "trace-500-abcdef" } });
    expect(res.status).toBe(500);
    const body = await res.json();
    expectEnvelope(body, false);
    expect(JSON.stringify(body)).not.toContain("db.internal");
    expect(body.errors[0].code).toBe("INTERNAL_ERROR");
    const line = probe.logs.find((l) => l.msg === "unhandled error");
    expect(line?.request_id).toBe("trace-500-abcdef");
    expect(JSON.stringify(line)).toContain("db.internal");
    await probe.close();
  });
});

describe("request id, timing and logs", () => {
  it("keeps a valid incoming X-Request-ID", async () => {
    const res = await t.request("/health/live", {
      headers: { "x-request-id": "client-chosen-id-123" },
    });
    expect(res.headers.get("x-request-id")).toBe("client-chosen-id-123");
    expect((await res.json()).metadata.request_id).toBe("client-chosen-id-123");
  });

  it("replaces an invalid one with a generated id", async () => {
    const res = await t.request("/health/live", {
      headers: { "x-request-id": "bad id\twith spaces" },
    });
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("reports processing time", async () => {
    const res = await t.request("/health/live");
    expect(res.headers.get("x-process-time")).toMatch(/^\d+\.\d{2}ms$/);
  });

  it("writes one structured log line per request, with the request id", async () => {
    const res = await t.request("/health/live?token=abc123secret", {
      headers: { "x-request-id": "log-line-check-1" },
    });
    expect(res.status).toBe(200);
    const lines = t.logs.filter((l) => l.request_id === "log-line-check-1");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: "request",
      method: "GET",
      path: "/health/live",
      status: 200,
    });
    expect(t.logText()).not.toContain("abc123secret");
  });
});

describe("security headers and CORS", () => {
  it("sets the security headers and a deny-all CSP on API responses", async () => {
    const res = await t.request("/health/live");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(res.headers.get("strict-transport-security")).toContain("max-age=");
  });

  it("allows configured origins and exposes the API's headers", async () => {
    const res = await t.request("/api/v1/currencies", {
      method: "OPTIONS",
      headers: { origin: "https://console.example", "access-control-request-method": "GET" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://console.example");
    const get = await t.request("/health/live", { headers: { origin: "https://console.example" } });
    expect(get.headers.get("access-control-expose-headers")).toContain("X-Request-ID");
  });

  it("does not allow other origins", async () => {
    const res = await t.request("/health/live", { headers: { origin: "https://evil.example" } });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("request body limit", () => {
  it("answers 413 in the envelope for a body over the limit", async () => {
    const res = await t.request("/api/v1/currencies", {
      method: "POST",
      body: "x".repeat(4096),
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(413);
    const body = await res.json();
    expect(body.errors[0].code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("answers 413 for a chunked body with no Content-Length", async () => {
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 8; i++) controller.enqueue(new TextEncoder().encode("y".repeat(512)));
        controller.close();
      },
    });
    const res = await t.request("/api/v1/currencies", {
      method: "POST",
      body: chunks,
      headers: { "content-type": "application/json" },
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
  });
});
