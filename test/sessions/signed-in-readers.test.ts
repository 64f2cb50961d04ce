import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiClient } from "../support/api-client";
import { createTestApp, randomIp, type TestApp } from "../support/harness";

/** Reference data and /session for callers that present a platform access token. */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("a signed-in platform user reading reference data", () => {
  it("reads as themself: no guest session is created or spent, API limits apply", async () => {
    const user = await t.createUser({ roles: ["platform_viewer"] });
    const res = await t.request("/api/v1/currencies/EUR", {
      ip: randomIp(),
      headers: bearer(await user.token()),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-reader-type")).toBe("user");
    expect(res.headers.get("x-guest-session")).toBeNull();
    expect(res.headers.get("x-guest-session-status")).toBeNull();
    // The per-user API limit (seeded: 60 per minute plus burst) is what the headers describe.
    expect(Number(res.headers.get("ratelimit-limit"))).toBeGreaterThan(0);
    const body = await res.json();
    expect(body.data.code).toBe("EUR");
    expect(body.metadata.new_session_token).toBeUndefined();
  });

  it("works on every reference-data resource, lists included", async () => {
    const user = await t.createUser();
    const token = await user.token();
    for (const path of ["/api/v1/countries?page_size=5", "/api/v1/languages/active"]) {
      const res = await t.request(path, { ip: randomIp(), headers: bearer(token) });
      expect(res.status, path).toBe(200);
      expect(res.headers.get("x-reader-type"), path).toBe("user");
    }
  });

  it("prefers a guest token sent in X-Guest-Session over the bearer", async () => {
    const first = await t.request("/api/v1/session", { ip: randomIp() });
    const guestToken = first.headers.get("x-guest-session") as string;
    const user = await t.createUser();
    const res = await t.request("/api/v1/session", {
      headers: { "x-guest-session": guestToken, ...bearer(await user.token()) },
    });
    expect((await res.json()).data).toMatchObject({ user_type: "guest", request_count: 2 });
  });

  it("a guest token in the Authorization header stays a guest token", async () => {
    const first = await t.request("/api/v1/session", { ip: randomIp() });
    const guestToken = first.headers.get("x-guest-session") as string;
    const res = await t.request("/api/v1/currencies/USD", { headers: bearer(guestToken) });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-guest-session-status")).toBe("active");
    expect(res.headers.get("x-reader-type")).toBeNull();
  });
});

describe("a bearer that is not a usable platform access token", () => {
  it("an expired token is treated as no token: a new guest session, and the reason", async () => {
    const user = await t.createUser();
    t.idpClock.offsetMs = -3_600_000;
    const expired = await user.token();
    t.idpClock.offsetMs = 0;
    const res = await t.request("/api/v1/currencies/EUR", {
      ip: randomIp(),
      headers: bearer(expired),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-guest-session-status")).toBe("created");
    expect(res.headers.get("x-guest-session-rejected")).toBe("invalid-access-token");
    expect(res.headers.get("x-reader-type")).toBeNull();
  });

  it("a token with a forged signature gets guest access, never the user's", async () => {
    const user = await t.createUser({ superadmin: true });
    const token = await user.token();
    const forged = `${token.slice(0, -4)}${token.endsWith("AAAA") ? "BBBB" : "AAAA"}`;
    const res = await t.request("/api/v1/session", { ip: randomIp(), headers: bearer(forged) });
    expect(res.headers.get("x-guest-session-rejected")).toBe("invalid-access-token");
    expect((await res.json()).data.user_type).toBe("guest");
  });

  it("a deactivated user reads as a guest, from the very next request", async () => {
    const user = await t.createUser();
    const token = await user.token();
    const before = await t.request("/api/v1/session", { headers: bearer(token) });
    expect((await before.json()).data.user_type).toBe("user");

    const admin = await apiClient(t, await t.createUser({ roles: ["platform_admin"] }));
    const off = await admin.post(`/users/${user.id}/status`, { is_active: false });
    expect(off.status).toBe(200);
    const after = await t.request("/api/v1/session", { ip: randomIp(), headers: bearer(token) });
    expect(after.headers.get("x-guest-session-rejected")).toBe("not-a-platform-user");
    expect((await after.json()).data.user_type).toBe("guest");
  });
});

describe("GET /session for a signed-in user", () => {
  it("shows who they are and their first 10 permissions, in code order", async () => {
    const user = await t.createUser({ roles: ["platform_admin"] });
    const token = await user.token();
    const res = await t.request("/api/v1/session", { headers: bearer(token) });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const { data } = await res.json();
    expect(data).toMatchObject({
      user_type: "user",
      user_id: user.id,
      username: user.username,
      is_superadmin: false,
    });
    const effective = await t.deps.identity?.permissions.effective(t.deps.db, user.id);
    expect(data.permission_count).toBe(effective?.length);
    expect(data.permission_count).toBeGreaterThan(10);
    expect(data.permissions).toEqual([...(effective ?? [])].sort().slice(0, 10));
    expect(Date.parse(data.token_expires_at)).toBeGreaterThan(Date.now());
    expect(JSON.stringify(data)).not.toContain(token);
  });
});
