import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_SUPERADMIN } from "../../src/dev/local-identity";
import { createTestApp, randomIp, registerSecrets, type TestApp } from "../support/harness";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

function post(path: string, body: unknown, headers: Record<string, string> = {}, ip = randomIp()) {
  return t.request(path, {
    method: "POST",
    ip,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

async function login(username: string, password: string, extra: Record<string, unknown> = {}) {
  const res = await post("/api/v1/auth/login", { username, password, ...extra });
  return { res, body: await res.json() };
}

describe("POST /auth/login", () => {
  it("signs in, creates the platform user from the token, and returns tokens and the profile", async () => {
    const { res, body } = await login(LOCAL_SUPERADMIN.username, LOCAL_SUPERADMIN.password);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(body.data).toMatchObject({
      token_type: "Bearer",
      user: {
        username: LOCAL_SUPERADMIN.username,
        email: LOCAL_SUPERADMIN.email,
        first_name: "Platform",
        is_active: true,
        external: { provider: "keycloak", realm: "neo-admin" },
      },
    });
    expect(body.data.access_token.split(".")).toHaveLength(3);
    expect(body.data.refresh_token.length).toBeGreaterThan(20);
    expect(body.data.session_id).toBeTruthy();
    const rows = await t.deps
      .db`select last_login_at from admin.platform_users where username = ${LOCAL_SUPERADMIN.username}`;
    expect(rows[0]?.last_login_at).toBeInstanceOf(Date);
  });

  it("answers wrong password and unknown user the same way", async () => {
    // Fresh names: the per-username login limit lives in Redis, which outlives a test run.
    const user = await t.createUser();
    const wrong = await login(user.username, "not-the-password");
    const unknown = await login(`nobody-${user.username}`, "whatever-password");
    expect(wrong.res.status).toBe(401);
    expect(unknown.res.status).toBe(401);
    expect(wrong.body.message).toBe(unknown.body.message);
    expect(wrong.body.errors[0].code).toBe("UNAUTHORIZED");
  });

  it("refuses a deactivated platform user with 403", async () => {
    const user = await t.createUser({ active: false });
    const { res } = await login(user.username, user.password);
    expect(res.status).toBe(403);
  });

  it("sets an HttpOnly, Secure, SameSite=Strict refresh cookie on a narrow path with remember_me", async () => {
    const user = await t.createUser();
    const { res } = await login(user.username, user.password, { remember_me: true });
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^neoadmin_refresh=/);
    for (const part of ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/v1/auth"]) {
      expect(cookie).toContain(part);
    }
  });

  it("validates the body", async () => {
    const res = await post("/api/v1/auth/login", { username: "ab", password: "short", extra: 1 });
    expect(res.status).toBe(400);
    const fields = (await res.json()).errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(expect.arrayContaining(["username", "password"]));
  });

  it("limits attempts per username", async () => {
    const user = await t.createUser();
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++)
      statuses.push((await login(user.username, "wrong-password-x")).res.status);
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses[10]).toBe(429);
    const blocked = await login(user.username, user.password);
    expect(blocked.res.status).toBe(429);
    expect(Number(blocked.res.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});

describe("an account recreated in the identity provider", () => {
  it("does not inherit the platform user of its username: 409, nothing re-linked", async () => {
    const old = await t.createUser({ superadmin: true });
    // The Keycloak account is deleted and someone creates a new one with the same username.
    await t.identity.idp.admin.deleteUser("neo-admin", old.externalId);
    const password = `Pw-${old.username}-Recreated1`;
    registerSecrets([password]);
    await t.identity.idp.admin.createUser("neo-admin", {
      username: old.username,
      email: `${old.username}@example.com`,
      emailVerified: true,
      password,
    });
    const { res, body } = await login(old.username, password);
    expect(res.status).toBe(409);
    expect(body.errors[0].code).toBe("CONFLICT");
    const [row] = await t.deps.db<{ external_user_id: string; is_superadmin: boolean }[]>`
      select external_user_id, is_superadmin from admin.platform_users where id = ${old.id}`;
    expect(row).toEqual({ external_user_id: old.externalId, is_superadmin: true });
    expect(
      await t.deps.db`select 1 from admin.platform_users where username = ${old.username}`,
    ).toHaveLength(1);
  });
});

describe("tokens and sessions", () => {
  it("GET /auth/me returns the profile with roles and permissions", async () => {
    const user = await t.createUser({ roles: ["platform_viewer"] });
    const res = await t.request("/api/v1/auth/me", {
      headers: { authorization: `Bearer ${await user.token()}` },
    });
    expect(res.status).toBe(200);
    const { data } = await res.json();
    expect(data).toMatchObject({
      id: user.id,
      roles: ["platform_viewer"],
      permissions: ["platform:read"],
    });
  });

  it("refreshes with the body token or the cookie, and refuses garbage", async () => {
    const user = await t.createUser();
    const { body } = await login(user.username, user.password);
    const res = await post("/api/v1/auth/refresh", { refresh_token: body.data.refresh_token });
    expect(res.status).toBe(200);
    expect((await res.json()).data.access_token).not.toBe(body.data.access_token);
    const viaCookie = await post(
      "/api/v1/auth/refresh",
      {},
      { cookie: `neoadmin_refresh=${body.data.refresh_token}` },
    );
    expect(viaCookie.status).toBe(200);
    expect((await post("/api/v1/auth/refresh", { refresh_token: "garbage" })).status).toBe(401);
    expect((await post("/api/v1/auth/refresh", {})).status).toBe(400);
  });

  it("logout ends the session: its refresh token and (through introspection) its access token stop working", async () => {
    const user = await t.createUser();
    const { body } = await login(user.username, user.password);
    const bearer = { authorization: `Bearer ${body.data.access_token}` };
    const res = await post(
      "/api/v1/auth/logout",
      { refresh_token: body.data.refresh_token },
      bearer,
    );
    expect(res.status).toBe(200);
    expect(
      (await post("/api/v1/auth/refresh", { refresh_token: body.data.refresh_token })).status,
    ).toBe(401);
    // An introspection-required route sees the revocation at once.
    const again = await post(
      "/api/v1/auth/logout",
      { refresh_token: body.data.refresh_token },
      bearer,
    );
    expect(again.status).toBe(401);
    expect(again.headers.get("www-authenticate")).toContain("invalid_token");
  });

  it("logout everywhere ends every session of the user", async () => {
    const user = await t.createUser();
    const first = (await login(user.username, user.password)).body.data;
    const second = (await login(user.username, user.password)).body.data;
    const res = await post(
      "/api/v1/auth/logout",
      { everywhere: true },
      { authorization: `Bearer ${first.access_token}` },
    );
    expect(res.status).toBe(200);
    expect(
      (await post("/api/v1/auth/refresh", { refresh_token: second.refresh_token })).status,
    ).toBe(401);
  });
});

describe("passwords", () => {
  it("changes the password after checking the current one", async () => {
    const user = await t.createUser();
    const bearer = { authorization: `Bearer ${await user.token()}` };
    const wrong = await post(
      "/api/v1/auth/change-password",
      {
        current_password: "nope-nope",
        new_password: "Brand-New-Pass-1",
        confirm_password: "Brand-New-Pass-1",
      },
      bearer,
    );
    expect(wrong.status).toBe(400);
    expect((await wrong.json()).errors[0].field).toBe("current_password");
    const weak = await post(
      "/api/v1/auth/change-password",
      { current_password: user.password, new_password: "short", confirm_password: "other" },
      bearer,
    );
    expect(weak.status).toBe(400);
    const ok = await post(
      "/api/v1/auth/change-password",
      {
        current_password: user.password,
        new_password: "Brand-New-Pass-1",
        confirm_password: "Brand-New-Pass-1",
      },
      bearer,
    );
    expect(ok.status).toBe(200);
    expect((await login(user.username, "Brand-New-Pass-1")).res.status).toBe(200);
    expect((await login(user.username, user.password)).res.status).toBe(401);
  });

  it("forgot-password answers the same for known and unknown accounts, and mails a working link", async () => {
    const user = await t.createUser();
    const before = t.identity.idp.admin.outbox.length;
    const known = await post("/api/v1/auth/forgot-password", {
      login: `${user.username}@example.com`,
    });
    // Unique per run: the per-login limit lives in Redis, which outlives a test run.
    const unknown = await post("/api/v1/auth/forgot-password", {
      login: `ghost-${user.username}@example.com`,
    });
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(202);
    expect((await known.json()).data).toEqual((await unknown.json()).data);
    const mails = t.identity.idp.admin.outbox.slice(before);
    expect(mails).toHaveLength(1);
    const mail = mails[0];
    expect(mail?.to).toBe(`${user.username}@example.com`);
    expect(mail?.actions).toEqual(["UPDATE_PASSWORD"]);

    const form = new URLSearchParams({
      "password-new": "Reset-Pass-2026",
      "password-confirm": "Reset-Pass-2026",
    });
    const done = await t.identity.idp.app.request(mail?.link ?? "", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form.toString(),
    });
    expect(done.status).toBeLessThan(400);
    expect((await login(user.username, "Reset-Pass-2026")).res.status).toBe(200);
  });

  it("reset-password needs auth:reset_password and sends the user the email", async () => {
    const target = await t.createUser();
    const nobody = await t.createUser();
    const admin = await t.createUser({ roles: ["platform_admin"] });
    const refused = await post(
      "/api/v1/auth/reset-password",
      { user_id: target.id },
      { authorization: `Bearer ${await nobody.token()}` },
    );
    expect(refused.status).toBe(403);
    const before = t.identity.idp.admin.outbox.length;
    const res = await post(
      "/api/v1/auth/reset-password",
      { user_id: target.id },
      { authorization: `Bearer ${await admin.token()}` },
    );
    expect(res.status).toBe(202);
    expect(t.identity.idp.admin.outbox.slice(before).map((m) => m.to)).toEqual([
      `${target.username}@example.com`,
    ]);
    const missing = await post(
      "/api/v1/auth/reset-password",
      { user_id: "00000000-0000-7000-8000-000000000000" },
      { authorization: `Bearer ${await admin.token()}` },
    );
    expect(missing.status).toBe(404);
  });
});

describe("secrets stay out of the logs", () => {
  it("never logs passwords or tokens", async () => {
    const user = await t.createUser();
    const { body } = await login(user.username, user.password);
    await t.request("/api/v1/auth/me", {
      headers: { authorization: `Bearer ${body.data.access_token}` },
    });
    const text = t.logText();
    expect(text).not.toContain(user.password);
    expect(text).not.toContain(body.data.access_token);
    expect(text).not.toContain(body.data.refresh_token);
    expect(text).not.toContain(t.identity.clientSecret);
  });
});
