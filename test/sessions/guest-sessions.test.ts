import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keys } from "../../src/core/cache/keys";
import { createTestApp, randomIp, type TestApp } from "../support/harness";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ GUEST_SESSION_REQUEST_LIMIT: "5", GUEST_IP_DAILY_SESSION_LIMIT: "3" });
});
afterAll(() => t.close());

const TOKEN = /^guest_[0-9a-f]{32}:[A-Za-z0-9_-]{43}$/;

async function newSession(ip = randomIp()) {
  const res = await t.request("/api/v1/session", { ip });
  expect(res.status).toBe(200);
  const token = res.headers.get("x-guest-session");
  expect(token).toMatch(TOKEN);
  return { token: token as string, ip, body: await res.json() };
}

describe("guest session creation", () => {
  it("creates a session on the first request and returns its token in header and body", async () => {
    const res = await t.request("/api/v1/currencies/active", { ip: randomIp() });
    expect(res.status).toBe(200);
    const token = res.headers.get("x-guest-session");
    expect(token).toMatch(TOKEN);
    expect(res.headers.get("x-guest-session-status")).toBe("created");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = await res.json();
    expect(body.metadata.new_session_token).toBe(token);
  });

  it.each(["/api/v1/currencies", "/api/v1/countries", "/api/v1/languages"])(
    "admits %s exactly once: one session, one hit",
    async (path) => {
      const res = await t.request(path, { ip: randomIp() });
      const token = res.headers.get("x-guest-session");
      expect((await res.json()).metadata.new_session_token).toBe(token);
      expect(res.headers.get("ratelimit-remaining")).toBe("4");
    },
  );

  it("shows the session on GET /session, never cached", async () => {
    const { token, body } = await newSession();
    const id = token.slice("guest_".length, token.indexOf(":"));
    expect(body.data).toMatchObject({
      user_type: "guest",
      session_id: id,
      permissions: ["reference_data:read"],
      request_count: 1,
      rate_limit: { limit: 5, remaining: 4 },
      new_session_token: token,
    });
    const ttl = Date.parse(body.data.expires_at) - Date.parse(body.data.created_at);
    expect(ttl).toBe(3600 * 1000);

    const again = await t.request("/api/v1/session", { headers: { "x-guest-session": token } });
    expect(again.headers.get("cache-control")).toBe("no-store");
    expect(again.headers.get("x-guest-session")).toBeNull();
    const data = (await again.json()).data;
    expect(data).toMatchObject({ session_id: id, request_count: 2 });
    expect(data.new_session_token).toBeUndefined();
  });

  it("stores only a hash of the secret", async () => {
    const { token } = await newSession();
    const [id, secret] = token.slice("guest_".length).split(":") as [string, string];
    const stored = await t.deps.cache.get<Record<string, unknown>>(keys.guest("session", id));
    expect(stored).not.toBeNull();
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(stored?.secret_hash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("presenting a session", () => {
  it("accepts the token from X-Guest-Session and from Authorization: Bearer", async () => {
    const { token } = await newSession();
    const viaHeader = await t.request("/api/v1/currencies/active", {
      headers: { "x-guest-session": token },
    });
    expect(viaHeader.headers.get("x-guest-session-status")).toBe("active");
    const viaBearer = await t.request("/api/v1/currencies/active", {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(viaBearer.headers.get("x-guest-session-status")).toBe("active");
    expect(viaBearer.headers.get("ratelimit-remaining")).toBe("2");
  });

  it.each([
    ["a wrong secret", (token: string) => `${token.slice(0, -4)}AAAA`, "unknown-or-expired"],
    ["an unknown id", () => `guest_${"0".repeat(32)}:${"A".repeat(43)}`, "unknown-or-expired"],
    ["a malformed guest token", () => "guest_nothex:short", "unknown-or-expired"],
    [
      "a bearer that is neither a guest token nor a valid access token",
      () => "eyJhbGciOiJSUzI1NiJ9.e30.sig",
      "invalid-access-token",
    ],
  ])("treats %s as no token: a new session, and says why", async (_, make, reason) => {
    const { token } = await newSession();
    const res = await t.request("/api/v1/currencies/active", {
      ip: randomIp(),
      headers: { authorization: `Bearer ${make(token)}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-guest-session-status")).toBe("created");
    expect(res.headers.get("x-guest-session-rejected")).toBe(reason);
    expect(res.headers.get("x-guest-session")).not.toBe(token);
  });
});

describe("limits", () => {
  it("answers 429 with Retry-After when the session is exhausted, never a silent new session", async () => {
    const { token } = await newSession();
    for (let i = 0; i < 4; i++) {
      const ok = await t.request("/api/v1/currencies/active", {
        headers: { "x-guest-session": token },
      });
      expect(ok.status).toBe(200);
    }
    const res = await t.request("/api/v1/currencies/active", {
      headers: { "x-guest-session": token },
    });
    expect(res.status).toBe(429);
    expect(res.headers.get("x-guest-session")).toBeNull();
    const retryAfter = Number(res.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(3500);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect(res.headers.get("ratelimit-limit")).toBe("5");
    expect(res.headers.get("ratelimit-remaining")).toBe("0");
    expect(res.headers.get("ratelimit-policy")).toBe("5;w=3600");
    const body = await res.json();
    expect(body).toMatchObject({ success: false, data: null, errors: [{ code: "RATE_LIMITED" }] });
  });

  it("limits new sessions per IP per day, and still serves that IP's existing sessions", async () => {
    const ip = randomIp();
    const first = await newSession(ip);
    await newSession(ip);
    await newSession(ip);
    const res = await t.request("/api/v1/currencies/active", { ip });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(86_000);
    expect((await res.json()).errors[0].code).toBe("RATE_LIMITED");
    const existing = await t.request("/api/v1/currencies/active", {
      ip,
      headers: { "x-guest-session": first.token },
    });
    expect(existing.status).toBe(200);
  });

  it("counts concurrent requests atomically", async () => {
    const { token } = await newSession();
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        t.request("/api/v1/currencies/active", { headers: { "x-guest-session": token } }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(4);
    expect(statuses.filter((s) => s === 429)).toHaveLength(6);
  });
});

describe("client address", () => {
  it("ignores X-Forwarded-For unless a trusted proxy count is configured", async () => {
    const ip = randomIp();
    const spoofed = randomIp();
    await newSession(ip);
    await t.request("/api/v1/session", { ip, headers: { "x-forwarded-for": spoofed } });
    const lines = t.logs.filter((l) => l.msg === "request" && l.ip === spoofed);
    expect(lines).toHaveLength(0);
  });

  it("takes the client from X-Forwarded-For behind TRUSTED_PROXY_COUNT proxies", async () => {
    const behind = await createTestApp({ TRUSTED_PROXY_COUNT: "1" });
    const client = randomIp();
    const res = await behind.request("/health/live", {
      headers: { "x-forwarded-for": `1.2.3.4, ${client}`, "x-request-id": "xff-check-0001" },
    });
    expect(res.status).toBe(200);
    const line = behind.logs.find((l) => l.request_id === "xff-check-0001");
    expect(line?.ip).toBe(client);
    await behind.close();
  });
});

describe("secrets in logs", () => {
  it("never writes a guest token or secret to the log", async () => {
    const { token } = await newSession();
    await t.request("/api/v1/currencies/active", { headers: { "x-guest-session": token } });
    await t.request(`/api/v1/session?token=${encodeURIComponent(token)}`, { ip: randomIp() });
    const secret = token.split(":")[1] as string;
    expect(t.logText()).not.toContain(secret);
  });
});
