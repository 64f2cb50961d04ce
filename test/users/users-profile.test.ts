import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OnboardingStatus, PlatformUser } from "../../src/features/users/schemas";
import { createKeycloakClient } from "../../src/integrations/keycloak/client";
import { apiClient, firstField, rotatingClient } from "../support/api-client";
import { createTestApp, randomIp, registerSecrets, type TestApp } from "../support/harness";
import { auditEntries, uniqueTag } from "./support";

let t: TestApp;
let admin: ReturnType<typeof rotatingClient>;

beforeAll(async () => {
  t = await createTestApp();
  admin = rotatingClient(t);
});
afterAll(() => t.close());

describe("GET /users/me", () => {
  it("is the same answer as GET /auth/me", async () => {
    const me = await apiClient(t, await t.createUser({ roles: ["platform_operator"] }));
    const users = await me.get<Record<string, unknown>>("/users/me");
    const auth = await me.get<Record<string, unknown>>("/auth/me");
    expect(users.status).toBe(200);
    expect(users.body.data).toEqual(auth.body.data);
    expect(users.body.data).toMatchObject({ id: me.user.id, roles: ["platform_operator"] });
  });
});

describe("PUT /users/me", () => {
  it("changes the caller's own profile fields, audited as users.update_self", async () => {
    const me = await apiClient(t, await t.createUser());
    const reply = await me.put<PlatformUser>("/users/me", {
      first_name: "Grace",
      display_name: "Grace H.",
      phone: "+353861234567",
      timezone: "America/New_York",
    });
    expect(reply.status).toBe(200);
    expect(reply.body.data).toMatchObject({
      id: me.user.id,
      first_name: "Grace",
      phone: "+353861234567",
      timezone: "America/New_York",
      version: 2,
    });
    expect(reply.headers.get("etag")).toBe('"2"');
    const [entry] = (await auditEntries(t, me.user.id)).filter(
      (e) => e.action === "users.update_self",
    );
    expect(entry?.actor_id).toBe(me.user.id);
  });

  it("takes If-Match when sent: a stale one is 412", async () => {
    const me = await apiClient(t, await t.createUser());
    expect((await me.put("/users/me", { company: "A" }, { "If-Match": '"1"' })).status).toBe(200);
    expect((await me.put("/users/me", { company: "B" }, { "If-Match": '"1"' })).status).toBe(412);
  });

  it.each([
    ["is_active", false],
    ["is_superadmin", true],
    ["email", "me@example.com"],
    ["username", "someone-else"],
    ["metadata", { tier: "gold" }],
    ["id", "0193a1f2-7c1e-7b3a-9a5e-2f1c4d5e6f70"],
    ["user_id", "0193a1f2-7c1e-7b3a-9a5e-2f1c4d5e6f70"],
  ])("refuses %s with 400 naming it, and changes nothing", async (field, value) => {
    const me = await apiClient(t, await t.createUser());
    const reply = await me.put("/users/me", { first_name: "X", [field]: value });
    expect(reply.status).toBe(400);
    expect(firstField(reply)).toBe(field);
    const [row] = await t.deps.db<{ version: number; is_superadmin: boolean }[]>`
      select version, is_superadmin from admin.platform_users where id = ${me.user.id}`;
    expect(row).toEqual({ version: 1, is_superadmin: false });
  });

  it("cannot reach another user: /users/me is always the caller", async () => {
    const me = await apiClient(t, await t.createUser());
    const other = await t.createUser();
    expect((await me.put("/users/me", { id: other.id, first_name: "Hacked" })).status).toBe(400);
    expect((await me.get(`/users/${other.id}`)).status).toBe(403);
    expect(
      (await me.put(`/users/${other.id}`, { first_name: "Hacked" }, { "If-Match": "*" })).status,
    ).toBe(403);
    const [row] = await t.deps.db<{ first_name: string | null; version: number }[]>`
      select first_name, version from admin.platform_users where id = ${other.id}`;
    expect(row).toEqual({ first_name: null, version: 1 });
  });
});

describe("PUT /users/me/preferences", () => {
  it("replaces the preferences sent; profile fields are refused", async () => {
    const me = await apiClient(t, await t.createUser());
    const reply = await me.put<PlatformUser>("/users/me/preferences", {
      locale: "de-DE",
      notification_preferences: { email: false },
    });
    expect(reply.status).toBe(200);
    expect(reply.body.data).toMatchObject({
      locale: "de-DE",
      notification_preferences: { email: false },
    });
    const refused = await me.put("/users/me/preferences", { first_name: "X" });
    expect(refused.status).toBe(400);
    expect(firstField(refused)).toBe("first_name");
    expect((await me.put("/users/me/preferences", {})).status).toBe(400);
  });
});

describe("onboarding", () => {
  it("a user's steps come from their profile, preferences and tenant grants", async () => {
    const me = await apiClient(t, await t.createUser());
    const status = async () =>
      (await me.get<OnboardingStatus>("/users/me/onboarding/status")).body.data;
    const start = await status();
    expect(start).toMatchObject({
      user_type: "user",
      is_onboarding_completed: false,
      completed_steps: 0,
      total_steps: 5,
      completion_percentage: 0,
      profile_completion_percentage: 0,
    });
    expect(start.steps.map((s) => [s.step, s.tracked])).toEqual([
      ["profile_completed", true],
      ["tenant_joined", true],
      ["team_joined", false],
      ["workspace_accessed", true],
      ["preferences_configured", true],
    ]);

    await me.put("/users/me", {
      first_name: "Ada",
      last_name: "Lovelace",
      display_name: "Ada",
      job_title: "Engineer",
      company: "Engines",
      departments: ["R&D"],
    });
    await me.put("/users/me/preferences", { ui_preferences: { theme: "dark" } });
    const tag = uniqueTag("ob");
    const [org] = await t.deps.db<{ id: string }[]>`
      insert into admin.organizations (name, slug) values ('Org', ${tag}) returning id`;
    const [tenant] = await t.deps.db<{ id: string }[]>`
      insert into admin.tenants (organization_id, slug, name, schema_name, external_auth_realm, external_user_id)
      values (${org?.id ?? ""}, ${tag}, 'T', ${`tenant_${tag}`}, 'tenant-realm', 'x') returning id`;
    await t.deps.db`insert into admin.tenant_access_grants (tenant_id, user_id, last_accessed_at)
                    values (${tenant?.id ?? ""}, ${me.user.id}, now())`;
    const after = await status();
    expect(after.profile_completion_percentage).toBe(75);
    expect(after.steps.filter((s) => s.completed).map((s) => s.step)).toEqual([
      "profile_completed",
      "tenant_joined",
      "workspace_accessed",
      "preferences_configured",
    ]);
    expect(after.completion_percentage).toBe(80);
  });

  it("a platform admin's steps; completing is recorded once", async () => {
    const me = await apiClient(t, await t.createUser({ roles: ["platform_admin"] }));
    await t.deps.db`
      insert into admin.audit_log (actor_type, actor_id, action, resource_type, resource_id)
      values ('user', ${me.user.id}, 'organizations.create', 'organization', 'x')`;
    const status = await me.get<OnboardingStatus>("/users/me/onboarding/status");
    expect(status.body.data.user_type).toBe("platform_admin");
    expect(status.body.data.steps.map((s) => [s.step, s.completed, s.tracked])).toEqual([
      ["profile_completed", false, true],
      ["organization_created", true, true],
      ["first_tenant_created", false, true],
      ["billing_setup", false, false],
      ["security_configured", false, false],
    ]);
    const done = await me.post<OnboardingStatus>("/users/me/onboarding/complete", {});
    expect(done.status).toBe(200);
    expect(done.body.data.is_onboarding_completed).toBe(true);
    await me.post("/users/me/onboarding/complete", {});
    const actions = (await auditEntries(t, me.user.id)).map((e) => e.action);
    expect(actions.filter((a) => a === "users.complete_onboarding")).toHaveLength(1);
  });
});

describe("POST /users/sync-from-token", () => {
  /** An account of the admin realm with no platform user (yet), and its token. */
  async function accountOnly() {
    const { adminRealm: realm, clientId } = t.deps.config.keycloak;
    const username = `sync-${uniqueTag()}`;
    const password = `Pw-${uniqueTag()}-Aa1`;
    registerSecrets([password]);
    const account = await t.identity.idp.admin.createUser(realm, {
      username,
      email: `${username}@example.com`,
      firstName: "Sync",
      lastName: "Me",
      emailVerified: true,
      password,
    });
    const keycloak = createKeycloakClient({
      baseUrl: t.identity.url,
      fetch: async (input, init) => t.identity.idp.app.request(input, init),
    });
    const token = async () =>
      (
        await keycloak.passwordGrant({
          realm,
          clientId,
          clientSecret: t.identity.clientSecret,
          username,
          password,
        })
      ).accessToken;
    return { account, username, token, realm };
  }

  function call(token: string, path: string, body?: unknown) {
    return t.request(`/api/v1${path}`, {
      method: body === undefined ? "GET" : "POST",
      ip: randomIp(),
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  it("creates the caller's platform user (201), then refreshes it (200); audited as the user", async () => {
    const { account, username, token, realm } = await accountOnly();
    const bearer = await token();
    expect((await call(bearer, "/users/me")).status).toBe(403);
    const created = await call(bearer, "/users/sync-from-token", {});
    expect(created.status).toBe(201);
    const { data } = await created.json();
    expect(data.created).toBe(true);
    expect(data.user).toMatchObject({
      username,
      email: `${username}@example.com`,
      first_name: "Sync",
      last_name: "Me",
      external_user_id: account.id,
      is_superadmin: false,
      version: 1,
    });
    expect((await call(bearer, "/users/me")).status).toBe(200);
    const [entry] = await auditEntries(t, data.user.id);
    expect(entry).toMatchObject({ action: "users.create", actor_id: data.user.id });

    t.identity.idp.admin.updateUser(realm, account.id, { lastName: "Renamed" });
    const refreshed = await call(await token(), "/users/sync-from-token", {});
    expect(refreshed.status).toBe(200);
    const again = (await refreshed.json()).data;
    expect(again).toMatchObject({
      created: false,
      user: { id: data.user.id, last_name: "Renamed" },
    });
    expect((await auditEntries(t, data.user.id)).map((e) => e.action)).toEqual([
      "users.create",
      "users.sync_from_token",
    ]);
    // Nothing changed: nothing recorded.
    await call(await token(), "/users/sync-from-token", {});
    expect(await auditEntries(t, data.user.id)).toHaveLength(2);
  });

  it("without create_if_not_exists a missing user is 404 and nothing is created", async () => {
    const { username, token } = await accountOnly();
    const reply = await call(await token(), "/users/sync-from-token", {
      create_if_not_exists: false,
    });
    expect(reply.status).toBe(404);
    expect(
      await t.deps.db`select 1 from admin.platform_users where username = ${username}`,
    ).toHaveLength(0);
  });

  it("never brings back a deleted user, nor lets a deactivated one in", async () => {
    const gone = await accountOnly();
    const created = await (await call(await gone.token(), "/users/sync-from-token", {})).json();
    await admin.delete(`/users/${created.data.user.id}`, { "If-Match": "*" });
    expect((await call(await gone.token(), "/users/sync-from-token", {})).status).toBe(403);
    const [row] = await t.deps.db<{ deleted: boolean }[]>`
      select deleted_at is not null as deleted from admin.platform_users where id = ${created.data.user.id}`;
    expect(row?.deleted).toBe(true);

    const off = await t.createUser();
    await admin.post(`/users/${off.id}/status`, { is_active: false });
    expect((await call(await off.token(), "/users/sync-from-token", {})).status).toBe(403);
  });

  it("refuses unknown body fields (no user id can be named)", async () => {
    const me = await apiClient(t, await t.createUser());
    const reply = await me.post("/users/sync-from-token", { user_id: me.user.id });
    expect(reply.status).toBe(400);
    expect(firstField(reply)).toBe("user_id");
  });
});
