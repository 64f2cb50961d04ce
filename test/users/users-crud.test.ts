import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PlatformUser } from "../../src/features/users/schemas";
import { apiClient, firstField, rotatingClient } from "../support/api-client";
import { createTestApp, type TestApp } from "../support/harness";
import { auditEntries, createUser, userInput } from "./support";

let t: TestApp;
let admin: ReturnType<typeof rotatingClient>;

beforeAll(async () => {
  t = await createTestApp();
  admin = rotatingClient(t);
});
afterAll(() => t.close());

const UNKNOWN = "0193a1f2-7c1e-7b3a-9a5e-2f1c4d5e6f70";

describe("create a platform user", () => {
  it("answers 201 with the user, its Location and ETag, and writes an audit entry", async () => {
    const input = userInput({
      job_title: "Engineer",
      company: "Analytical Engines",
      departments: ["R&D"],
      metadata: { team: "core" },
    });
    const reply = await admin.post<PlatformUser>("/users", input, {
      "X-Audit-Reason": "new hire",
    });
    expect(reply.status).toBe(201);
    const user = reply.body.data;
    expect(user).toMatchObject({
      email: input.email,
      username: input.username,
      external_auth_provider: "keycloak",
      external_user_id: input.external_user_id,
      is_active: true,
      is_superadmin: false,
      is_onboarding_completed: false,
      timezone: "Europe/Dublin",
      departments: ["R&D"],
      metadata: { team: "core" },
      version: 1,
      last_login_at: null,
    });
    // Five of eight profile fields: names, job title, company, departments.
    expect(user.profile_completion_percentage).toBe(63);
    expect(reply.headers.get("location")).toBe(`/api/v1/users/${user.id}`);
    expect(reply.headers.get("etag")).toBe('"1"');
    const [entry] = await auditEntries(t, user.id);
    expect(entry).toMatchObject({
      action: "users.create",
      reason: "new hire",
      before: null,
      request_id: reply.body.metadata.request_id,
    });
    expect(entry?.after).toMatchObject({ username: input.username });
  });

  it("lower-cases email and username the way the identity provider does", async () => {
    const input = userInput();
    const user = await createUser(admin, {
      email: input.email.toUpperCase(),
      username: input.username.toUpperCase(),
    });
    expect(user.email).toBe(input.email);
    expect(user.username).toBe(input.username);
  });

  it.each([["email"], ["username"], ["external_id"]])(
    "a taken %s is 409 naming the field (case-insensitively for email), and nothing is written",
    async (field) => {
      const first = await createUser(admin, { external_id: crypto.randomUUID() });
      const taken = { ...first, email: first.email.toUpperCase() }[field as "email"];
      const input = userInput({ [field]: taken });
      const reply = await admin.post("/users", input);
      expect(reply.status).toBe(409);
      expect(firstField(reply)).toBe(field);
      const rows = await t.deps.db`
        select 1 from admin.platform_users where external_user_id = ${input.external_user_id}`;
      expect(rows).toHaveLength(0);
    },
  );

  it("a taken (provider, external user id) is 409 naming external_user_id", async () => {
    const first = await createUser(admin);
    const reply = await admin.post(
      "/users",
      userInput({ external_user_id: first.external_user_id }),
    );
    expect(reply.status).toBe(409);
    expect(firstField(reply)).toBe("external_user_id");
  });

  it.each([
    [{ email: "not-an-email" }, "email"],
    [{ username: "ab" }, "username"],
    [{ username: "-leading-dash" }, "username"],
    [{ username: "has space" }, "username"],
    [{ username: "x".repeat(40) }, "username"],
    [{ timezone: "Mars/Olympus_Mons" }, "timezone"],
    [{ timezone: "+01:00" }, "timezone"],
    [{ locale: "english" }, "locale"],
    [{ phone: "0861234567" }, "phone"],
    [{ avatar_url: "javascript:alert(1)" }, "avatar_url"],
    [{ external_auth_provider: "okta" }, "external_auth_provider"],
    [{ external_user_id: "" }, "external_user_id"],
    [{ first_name: "x".repeat(101) }, "first_name"],
    [{ departments: "R&D" }, "departments"],
    [{ metadata: [1, 2] }, "metadata"],
  ])("refuses %j with 400 naming %s", async (overrides, field) => {
    const reply = await admin.post("/users", userInput(overrides));
    expect(reply.status).toBe(400);
    expect(firstField(reply)).toBe(field);
  });

  it.each([
    ["is_superadmin", true],
    ["id", UNKNOWN],
    ["version", 7],
    ["deleted_at", "2026-01-01T00:00:00Z"],
    ["last_login_at", "2026-01-01T00:00:00Z"],
    ["is_active", false],
    ["profile_completion_percentage", 100],
    ["is_onboarding_completed", true],
  ])(
    "refuses the server-owned field %s (mass assignment) and stores nothing",
    async (field, value) => {
      const input = userInput({ [field]: value });
      const reply = await admin.post("/users", input);
      expect(reply.status).toBe(400);
      expect(firstField(reply)).toBe(field);
      const rows = await t.deps
        .db`select 1 from admin.platform_users where username = ${input.username}`;
      expect(rows).toHaveLength(0);
    },
  );
});

describe("read a platform user", () => {
  it("gets one with an ETag that answers If-None-Match with 304", async () => {
    const user = await createUser(admin);
    const reply = await admin.get<PlatformUser>(`/users/${user.id}`);
    expect(reply.status).toBe(200);
    expect(reply.body.data).toEqual(user);
    expect(reply.headers.get("etag")).toBe('"1"');
    expect(reply.headers.get("cache-control")).toBe("private, no-cache");
    expect((await admin.get(`/users/${user.id}`, { "If-None-Match": '"1"' })).status).toBe(304);
  });

  it("404 for an unknown id, 400 naming user_id for a malformed one", async () => {
    expect((await admin.get(`/users/${UNKNOWN}`)).status).toBe(404);
    const bad = await admin.get("/users/not-a-uuid");
    expect(bad.status).toBe(400);
    expect(firstField(bad)).toBe("user_id");
  });
});

describe("update a platform user (If-Match)", () => {
  it("428 without If-Match, 412 with a stale ETag, 200 with the current one (version bumps)", async () => {
    const user = await createUser(admin);
    const path = `/users/${user.id}`;
    expect((await admin.put(path, { job_title: "CTO" })).status).toBe(428);
    const ok = await admin.put<PlatformUser>(path, { job_title: "CTO" }, { "If-Match": '"1"' });
    expect(ok.status).toBe(200);
    expect(ok.body.data).toMatchObject({ job_title: "CTO", version: 2 });
    expect(ok.headers.get("etag")).toBe('"2"');
    const stale = await admin.put(path, { job_title: "CEO" }, { "If-Match": '"1"' });
    expect(stale.status).toBe(412);
    expect(stale.headers.get("etag")).toBe('"2"');
    // The read after a write sees the write (the cached copy was dropped).
    expect((await admin.get<PlatformUser>(path)).body.data.job_title).toBe("CTO");
    const actions = (await auditEntries(t, user.id)).map((e) => e.action);
    expect(actions).toEqual(["users.create", "users.update"]);
  });

  it("a write the user's sign-in raced is 412, and the re-read is fresh (not the cached copy)", async () => {
    const user = await createUser(admin);
    expect((await admin.get(`/users/${user.id}`)).headers.get("etag")).toBe('"1"');
    await t.deps.db`update admin.platform_users set last_login_at = now() where id = ${user.id}`;
    const stale = await admin.put(`/users/${user.id}`, { company: "X" }, { "If-Match": '"1"' });
    expect(stale.status).toBe(412);
    expect((await admin.get(`/users/${user.id}`)).headers.get("etag")).toBe('"2"');
  });

  it.each([
    [{ email: "new@example.com" }, "email"],
    [{ username: "renamed" }, "username"],
    [{ external_user_id: "x" }, "external_user_id"],
    [{ is_active: false }, "is_active"],
    [{ version: 9 }, "version"],
    [{ phone: "12" }, "phone"],
  ])("refuses %j with 400 naming %s, and changes nothing", async (patch, field) => {
    const user = await createUser(admin);
    const reply = await admin.put(`/users/${user.id}`, patch, { "If-Match": "*" });
    expect(reply.status).toBe(400);
    expect(firstField(reply)).toBe(field);
    expect((await admin.get<PlatformUser>(`/users/${user.id}`)).body.data.version).toBe(1);
  });

  it("an empty update is 400, an unknown user 404", async () => {
    const user = await createUser(admin);
    expect((await admin.put(`/users/${user.id}`, {}, { "If-Match": "*" })).status).toBe(400);
    expect(
      (await admin.put(`/users/${UNKNOWN}`, { company: "X" }, { "If-Match": "*" })).status,
    ).toBe(404);
  });

  it("is_superadmin: 403 from a non-superadmin; a superadmin grants it and it applies at once", async () => {
    const target = await t.createUser();
    const targetClient = await apiClient(t, target);
    expect((await targetClient.get("/users")).status).toBe(403);

    const refused = await admin.put(
      `/users/${target.id}`,
      { is_superadmin: true },
      { "If-Match": "*" },
    );
    expect(refused.status).toBe(403);
    expect(firstField(refused)).toBe("is_superadmin");

    const root = await apiClient(t, await t.createUser({ superadmin: true }));
    const granted = await root.put<PlatformUser>(
      `/users/${target.id}`,
      { is_superadmin: true },
      { "If-Match": "*" },
    );
    expect(granted.status).toBe(200);
    expect(granted.body.data.is_superadmin).toBe(true);
    // The target's cached principal was dropped: the same token now passes every check.
    expect((await targetClient.get("/users")).status).toBe(200);

    const revoked = await root.put(
      `/users/${target.id}`,
      { is_superadmin: false },
      { "If-Match": "*" },
    );
    expect(revoked.status).toBe(200);
    expect((await targetClient.get("/users")).status).toBe(403);

    const own = await root.put(
      `/users/${root.user.id}`,
      { is_superadmin: false },
      { "If-Match": "*" },
    );
    expect(own.status).toBe(409);
  });
});

describe("preferences of a platform user", () => {
  it("replaces each preference sent, under If-Match, audited", async () => {
    const user = await createUser(admin, { ui_preferences: { theme: "dark", density: "compact" } });
    const path = `/users/${user.id}/preferences`;
    expect((await admin.put(path, { locale: "fr-FR" })).status).toBe(428);
    const reply = await admin.put<PlatformUser>(
      path,
      { locale: "fr-FR", ui_preferences: { theme: "light" } },
      { "If-Match": '"1"' },
    );
    expect(reply.status).toBe(200);
    expect(reply.body.data).toMatchObject({
      locale: "fr-FR",
      ui_preferences: { theme: "light" },
      version: 2,
    });
    expect((await admin.put(path, { first_name: "X" }, { "If-Match": "*" })).status).toBe(400);
    expect((await auditEntries(t, user.id)).at(-1)?.action).toBe("users.update_preferences");
  });
});

describe("delete a platform user", () => {
  it("soft-deletes under If-Match: gone from reads and lists, values stay taken, audited", async () => {
    const user = await createUser(admin, { company: `gone-${crypto.randomUUID()}` });
    const path = `/users/${user.id}`;
    expect((await admin.delete(path)).status).toBe(428);
    expect((await admin.delete(path, { "If-Match": '"9"' })).status).toBe(412);
    const done = await admin.delete<{ id: string; deleted_at: string }>(path, {
      "If-Match": '"1"',
    });
    expect(done.status).toBe(200);
    expect(done.body.data.id).toBe(user.id);
    const [row] = await t.deps.db<{ is_active: boolean; deleted_at: Date | null }[]>`
      select is_active, deleted_at from admin.platform_users where id = ${user.id}`;
    expect(row?.is_active).toBe(false);
    expect(row?.deleted_at).not.toBeNull();
    expect((await admin.get(path)).status).toBe(404);
    const list = await admin.get<{ items: PlatformUser[] }>(
      `/users?company=${encodeURIComponent(user.company ?? "")}`,
    );
    expect(list.body.data.items).toEqual([]);
    const again = await admin.post("/users", userInput({ email: user.email }));
    expect(again.status).toBe(409);
    expect(again.body.message).toContain("deleted");
    expect((await auditEntries(t, user.id)).map((e) => e.action)).toEqual([
      "users.create",
      "users.delete",
    ]);
  });

  it("refuses deleting yourself (409) and a superadmin when you are not one (403)", async () => {
    const caller = await apiClient(t, await t.createUser({ roles: ["platform_admin"] }));
    expect((await caller.delete(`/users/${caller.user.id}`, { "If-Match": "*" })).status).toBe(409);
    const root = await t.createUser({ superadmin: true });
    expect((await caller.delete(`/users/${root.id}`, { "If-Match": "*" })).status).toBe(403);
  });
});

describe("Idempotency-Key on create", () => {
  it("replays the first answer for the same request, 422 for a different one", async () => {
    const client = await apiClient(t, await t.createUser({ roles: ["platform_admin"] }));
    const input = userInput();
    const key = `idem-${input.username}`;
    const first = await client.post<PlatformUser>("/users", input, { "Idempotency-Key": key });
    expect(first.status).toBe(201);
    const replay = await client.post<PlatformUser>("/users", input, { "Idempotency-Key": key });
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body.data.id).toBe(first.body.data.id);
    const different = await client.post(
      "/users",
      { ...input, company: "Other" },
      { "Idempotency-Key": key },
    );
    expect(different.status).toBe(422);
    expect(different.body.errors?.[0]?.code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect(
      await t.deps.db`select 1 from admin.platform_users where username = ${input.username}`,
    ).toHaveLength(1);
  });
});

describe("permissions (BOLA)", () => {
  it("a users:read caller reads but cannot create, update, change status or delete", async () => {
    const target = await createUser(admin);
    const reader = await apiClient(t, await t.createUser({ permissions: ["users:read"] }));
    expect((await reader.get(`/users/${target.id}`)).status).toBe(200);
    expect((await reader.get("/users")).status).toBe(403);
    expect((await reader.post("/users", userInput())).status).toBe(403);
    expect(
      (await reader.put(`/users/${target.id}`, { company: "X" }, { "If-Match": "*" })).status,
    ).toBe(403);
    expect((await reader.post(`/users/${target.id}/status`, { is_active: false })).status).toBe(
      403,
    );
    expect((await reader.delete(`/users/${target.id}`, { "If-Match": "*" })).status).toBe(403);
    const after = await admin.get<PlatformUser>(`/users/${target.id}`);
    expect(after.body.data).toMatchObject({ company: null, is_active: true, version: 1 });
  });
});
