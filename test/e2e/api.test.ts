import { describe, expect, inject, it } from "vitest";
import { type Envelope, expectErrorEnvelope, getJson } from "./http";

const { bunUrl, workerUrl } = inject("e2e");

/** A guest session of its own for each test, so quotas and counters never interleave. */
async function newGuestSession(base: string): Promise<string> {
  const response = await fetch(`${base}/api/v1/currencies/active`);
  await response.body?.cancel();
  const token = response.headers.get("x-guest-session");
  if (!token) throw new Error(`no guest session from ${base}`);
  return token;
}

describe.each([
  ["bun", bunUrl],
  ["workers", workerUrl],
])("%s runtime", (_runtime, base) => {
  it("reports itself healthy, with the database and the Upstash cache up", async () => {
    const { response, body } = await getJson(base, "/health");
    expect(response.status).toBe(200);
    expect(body).toMatchObject({
      success: true,
      data: {
        status: "healthy",
        environment: "test",
        checks: {
          database: { status: "up" },
          cache: { status: "up", kind: "upstash" },
        },
      },
    });
  });

  it("creates a guest session on a first reference-data request", async () => {
    const { response, body } = await getJson(base, "/api/v1/currencies");
    expect(response.status).toBe(200);
    const token = response.headers.get("x-guest-session");
    expect(token).toMatch(/^guest_[0-9a-f]{32}:[A-Za-z0-9_-]{43}$/);
    expect(body.metadata.new_session_token).toBe(token);
    expect(response.headers.get("x-guest-session-status")).toBe("created");
    // The body carries a credential: nothing may store it.
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(body.success).toBe(true);
  });

  it("counts requests against a reused guest session", async () => {
    const token = await newGuestSession(base);
    const remaining: number[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${base}/api/v1/currencies`, {
        headers: { "X-Guest-Session": token },
      });
      const body = (await response.json()) as Envelope;
      expect(response.status).toBe(200);
      expect(response.headers.get("x-guest-session-status")).toBe("active");
      expect(response.headers.get("x-guest-session")).toBeNull();
      expect(body.metadata.new_session_token).toBeUndefined();
      remaining.push(Number(response.headers.get("ratelimit-remaining")));
    }
    const [first = Number.NaN] = remaining;
    expect(remaining).toEqual([first, first - 1, first - 2]);
    expect(Number(first)).toBeGreaterThan(0);
  });

  it("returns Germany, and 304 for its current ETag", async () => {
    const token = await newGuestSession(base);
    const headers = { "X-Guest-Session": token };
    const { response, body } = await getJson(base, "/api/v1/countries/DE", { headers });
    expect(response.status).toBe(200);
    expect(body.data).toMatchObject({
      code: "DE",
      code3: "DEU",
      name: "Germany",
      continent: "Europe",
      default_currency_code: "EUR",
      gdpr_applicable: true,
    });
    const etag = response.headers.get("etag");
    expect(etag).toMatch(/^W\/".+"$/);

    const again = await fetch(`${base}/api/v1/countries/de`, {
      headers: { ...headers, "If-None-Match": etag ?? "" },
    });
    expect(again.status).toBe(304);
    expect(again.headers.get("etag")).toBe(etag);
    expect(await again.text()).toBe("");
  });

  it("answers an unknown country with a 404 envelope", async () => {
    const token = await newGuestSession(base);
    const { response, body } = await getJson(base, "/api/v1/countries/ZZ", {
      headers: { "X-Guest-Session": token },
    });
    expect(response.status).toBe(404);
    expectErrorEnvelope(body, "NOT_FOUND");
  });

  it("answers a malformed country code with a 400 envelope naming the field", async () => {
    const token = await newGuestSession(base);
    const { response, body } = await getJson(base, "/api/v1/countries/1X", {
      headers: { "X-Guest-Session": token },
    });
    expect(response.status).toBe(400);
    expectErrorEnvelope(body, "VALIDATION_ERROR");
    expect(body.errors?.[0]).toMatchObject({ field: "code", location: "path" });
  });

  it("answers a wrong method with 405 and Allow", async () => {
    const { response, body } = await getJson(base, "/api/v1/countries/DE", { method: "POST" });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toContain("GET");
    expectErrorEnvelope(body, "METHOD_NOT_ALLOWED");
  });

  it("answers an unknown path with a 404 envelope", async () => {
    const { response, body } = await getJson(base, "/api/v1/no-such-thing");
    expect(response.status).toBe(404);
    expectErrorEnvelope(body, "NOT_FOUND");
  });

  it("serves the OpenAPI document with every operation", async () => {
    const response = await fetch(`${base}/openapi.json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { operationId?: string }>>;
    };
    expect(document.openapi).toMatch(/^3\.1\./);
    const operationIds = Object.values(document.paths).flatMap((operations) =>
      Object.values(operations).map((operation) => operation.operationId),
    );
    expect(operationIds).toEqual(
      expect.arrayContaining([
        "getHealth",
        "getLiveness",
        "getReadiness",
        "listCurrencies",
        "getCurrency",
        "listCountries",
        "getCountry",
        "listLanguages",
        "getLanguage",
      ]),
    );
  });

  it("serves the docs page and its script from this origin", async () => {
    const page = await fetch(`${base}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(await page.text()).toContain('src="/docs/assets/scalar.js"');

    const script = await fetch(`${base}/docs/assets/scalar.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toMatch(/^text\/javascript/);
    const text = await script.text();
    expect(text.length).toBeGreaterThan(100_000);
    expect(text).toContain("createApiReference");
  });

  it("echoes a valid X-Request-ID in the header and the envelope", async () => {
    const requestId = `e2e-${crypto.randomUUID()}`;
    const { response, body } = await getJson(base, "/health/live", {
      headers: { "X-Request-ID": requestId },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-request-id")).toBe(requestId);
    expect(body.metadata.request_id).toBe(requestId);
  });
});

describe("both runtimes", () => {
  it("serve the same OpenAPI document", async () => {
    const [onBun, onWorkers] = await Promise.all(
      [bunUrl, workerUrl].map(async (base) => (await fetch(`${base}/openapi.json`)).json()),
    );
    expect(onWorkers).toEqual(onBun);
  });

  it("serve the same reference data", async () => {
    const [onBun, onWorkers] = await Promise.all(
      [bunUrl, workerUrl].map(async (base) => (await getJson(base, "/api/v1/countries/FR")).body),
    );
    expect(onWorkers?.data).toEqual(onBun?.data);
  });
});
