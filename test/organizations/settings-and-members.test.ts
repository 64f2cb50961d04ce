import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  OrganizationMember,
  OrganizationSetting,
} from "../../src/features/organizations/schemas";
import { apiClient, firstField, rotatingClient } from "../support/api-client";
import { createTestApp, type TestApp } from "../support/harness";
import { auditEntries, createOrganization, UNKNOWN_ID } from "./support";

let t: TestApp;
let admin: ReturnType<typeof rotatingClient>;

beforeAll(async () => {
  t = await createTestApp();
  admin = rotatingClient(t);
});
afterAll(() => t.close());

const anyVersion = { "If-Match": "*" };

type Settings = { organization_id: string; settings: OrganizationSetting[] };
const byKey = (reply: { body: { data: Settings } }) =>
  Object.fromEntries(reply.body.data.settings.map((s) => [s.key, [s.value, s.is_public]]));

describe("organization settings", () => {
  it("sets, changes and removes keys, leaving the others, and audits the keys it changed", async () => {
    const client = await apiClient(t, await t.createUser({ roles: ["platform_admin"] }));
    const organization = await createOrganization(admin);
    const path = `/organizations/${organization.id}/settings`;
    const empty = await client.get<Settings>(path);
    expect(empty.status).toBe(200);
    expect(empty.body.data).toEqual({ organization_id: organization.id, settings: [] });

    const first = await client.put<Settings>(
      path,
      {
        settings: {
          "billing.invoice_prefix": { value: "ACME-", is_public: true },
          "support.tier": { value: { level: 2, hours: [9, 17] } },
          "features.beta": { value: false },
        },
      },
      { "X-Audit-Reason": "onboarding" },
    );
    expect(first.status).toBe(200);
    expect(byKey(first)).toEqual({
      "billing.invoice_prefix": ["ACME-", true],
      "features.beta": [false, false],
      "support.tier": [{ level: 2, hours: [9, 17] }, false],
    });
    expect(first.body.data.settings[0]?.updated_by).toBe(client.user.id);

    // is_public is kept when not sent; null removes a key; unlisted keys stay.
    const second = await client.put<Settings>(path, {
      settings: { "billing.invoice_prefix": { value: "AC-" }, "support.tier": null },
    });
    expect(byKey(second)).toEqual({
      "billing.invoice_prefix": ["AC-", true],
      "features.beta": [false, false],
    });
    expect(byKey(await client.get<Settings>(path))).toEqual(byKey(second));

    const entries = await auditEntries(t, organization.id);
    expect(entries.map((e) => e.action)).toEqual([
      "organizations.create",
      "organizations.settings_update",
      "organizations.settings_update",
    ]);
    expect(entries[1]).toMatchObject({
      actor_id: client.user.id,
      reason: "onboarding",
      before: {},
      after: {
        "billing.invoice_prefix": "ACME-",
        "features.beta": false,
        "support.tier": { level: 2, hours: [9, 17] },
      },
    });
    expect(entries[2]).toMatchObject({
      before: { "billing.invoice_prefix": "ACME-", "support.tier": { level: 2, hours: [9, 17] } },
      after: { "billing.invoice_prefix": "AC-" },
    });
    // Settings are not part of the organization's representation: its version stays.
    const org = await admin.get(`/organizations/${organization.id}`);
    expect(org.headers.get("etag")).toBe('"1"');
  });

  it.each([
    [{}, "settings"],
    [{ settings: {} }, "settings"],
    [{ settings: { "Bad Key": { value: 1 } } }, "settings.Bad Key"],
    [{ settings: { "smtp.password": { value: "hunter2" } } }, "settings.smtp.password"],
    [{ settings: { "a.b": { value: null } } }, "settings.a.b.value"],
    [{ settings: { "a.b": {} } }, "settings.a.b.value"],
    [{ settings: { "a.b": { value: 1, secret: true } } }, "settings.a.b.secret"],
    [{ settings: { "a.b": { value: "x".repeat(20_000) } } }, "settings.a.b.value"],
    [{ settings: { "a.b": { value: 1 } }, organization_id: UNKNOWN_ID }, "organization_id"],
  ])("refuses %j with 400 naming %s, storing nothing", async (body, field) => {
    const organization = await createOrganization(admin);
    const reply = await admin.put(`/organizations/${organization.id}/settings`, body);
    expect(reply.status).toBe(400);
    expect(firstField(reply)).toBe(field);
    expect(
      await t.deps
        .db`select 1 from admin.organization_settings where organization_id = ${organization.id}`,
    ).toHaveLength(0);
  });

  it("refuses more than 50 keys in one write", async () => {
    const organization = await createOrganization(admin);
    const settings = Object.fromEntries(
      Array.from({ length: 51 }, (_, i) => [`k${i}`, { value: i }]),
    );
    const reply = await admin.put(`/organizations/${organization.id}/settings`, { settings });
    expect(reply.status).toBe(400);
    expect(firstField(reply)).toBe("settings");
  });

  it("404 for an unknown or deleted organization", async () => {
    const body = { settings: { "a.b": { value: 1 } } };
    expect((await admin.get(`/organizations/${UNKNOWN_ID}/settings`)).status).toBe(404);
    expect((await admin.put(`/organizations/${UNKNOWN_ID}/settings`, body)).status).toBe(404);
    const organization = await createOrganization(admin);
    await admin.delete(`/organizations/${organization.id}`, { "If-Match": "*" });
    expect((await admin.get(`/organizations/${organization.id}/settings`)).status).toBe(404);
    expect((await admin.put(`/organizations/${organization.id}/settings`, body)).status).toBe(404);
  });
});

describe("organization members", () => {
  type Page = { items: OrganizationMember[]; pagination: { total_items: number } };

  it("adds, lists, reads, changes and removes members, auditing each change", async () => {
    const client = await apiClient(t, await t.createUser({ roles: ["platform_admin"] }));
    const organization = await createOrganization(admin);
    const base = `/organizations/${organization.id}/members`;
    const [owner, billing, plain] = [
      await t.createUser(),
      await t.createUser(),
      await t.createUser(),
    ];

    const added = await client.post<OrganizationMember>(
      base,
      { user_id: owner.id, member_role: "owner" },
      { "X-Audit-Reason": "founder" },
    );
    expect(added.status).toBe(201);
    expect(added.headers.get("location")).toBe(`/api/v1${base}/${owner.id}`);
    expect(added.headers.get("etag")).toBe('"1"');
    expect(added.body.data).toMatchObject({
      organization_id: organization.id,
      user_id: owner.id,
      username: owner.username,
      member_role: "owner",
      user_is_active: true,
      added_by: client.user.id,
    });
    await client.post(base, { user_id: billing.id, member_role: "billing" });
    const defaulted = await client.post<OrganizationMember>(base, { user_id: plain.id });
    expect(defaulted.body.data.member_role).toBe("member");

    const all = await client.get<Page>(`${base}?sort=username`);
    expect(all.body.data.items.map((m) => m.user_id)).toEqual(
      [owner, billing, plain].sort((a, b) => a.username.localeCompare(b.username)).map((u) => u.id),
    );
    expect(all.body.data.pagination.total_items).toBe(3);
    const billers = await client.get<Page>(`${base}?member_role=billing`);
    expect(billers.body.data.items.map((m) => m.user_id)).toEqual([billing.id]);
    const found = await client.get<Page>(`${base}?search=${plain.username}`);
    expect(found.body.data.items.map((m) => m.user_id)).toEqual([plain.id]);
    const one = await client.get<OrganizationMember>(`${base}/${billing.id}`);
    expect(one.body.data).toMatchObject({
      user_id: billing.id,
      member_role: "billing",
      version: 1,
    });
    expect(one.headers.get("etag")).toBe('"1"');
    expect((await client.get(`${base}/${billing.id}`, { "If-None-Match": '"1"' })).status).toBe(
      304,
    );

    const promote = { member_role: "admin" };
    expect((await client.put(`${base}/${plain.id}`, promote)).status).toBe(428);
    const changed = await client.put<OrganizationMember>(`${base}/${plain.id}`, promote, {
      "If-Match": '"1"',
    });
    expect(changed.status).toBe(200);
    expect(changed.body.data).toMatchObject({ member_role: "admin", version: 2 });
    expect(changed.headers.get("etag")).toBe('"2"');
    const stale = await client.put(
      `${base}/${plain.id}`,
      { member_role: "member" },
      {
        "If-Match": '"1"',
      },
    );
    expect(stale.status).toBe(412);
    expect(stale.headers.get("etag")).toBe('"2"');
    expect((await client.delete(`${base}/${billing.id}`)).status).toBe(428);
    expect((await client.delete(`${base}/${billing.id}`, { "If-Match": '"2"' })).status).toBe(412);
    const removed = await client.delete<OrganizationMember>(`${base}/${billing.id}`, {
      "If-Match": '"1"',
    });
    expect(removed.status).toBe(200);
    expect(removed.body.data.user_id).toBe(billing.id);
    expect((await client.get(`${base}/${billing.id}`)).status).toBe(404);

    const entries = (await auditEntries(t, organization.id)).slice(1);
    expect(entries.map((e) => e.action)).toEqual([
      "organizations.member_add",
      "organizations.member_add",
      "organizations.member_add",
      "organizations.member_update",
      "organizations.member_remove",
    ]);
    expect(entries[0]).toMatchObject({
      actor_id: client.user.id,
      reason: "founder",
      before: null,
      after: { user_id: owner.id, member_role: "owner" },
    });
    expect(entries[3]).toMatchObject({
      before: { user_id: plain.id, member_role: "member" },
      after: { user_id: plain.id, member_role: "admin" },
    });
    expect(entries[4]).toMatchObject({
      before: { user_id: billing.id, member_role: "billing" },
      after: null,
    });
  });

  it("keeps the last owner: stepping down or leaving is 409 until another owner exists", async () => {
    const organization = await createOrganization(admin);
    const base = `/organizations/${organization.id}/members`;
    const [first, second] = [await t.createUser(), await t.createUser()];
    await admin.post(base, { user_id: first.id, member_role: "owner" });
    await admin.post(base, { user_id: second.id, member_role: "admin" });

    const demote = await admin.put(`${base}/${first.id}`, { member_role: "admin" }, anyVersion);
    expect(demote.status).toBe(409);
    expect(firstField(demote)).toBe("user_id");
    expect((await admin.delete(`${base}/${first.id}`, anyVersion)).status).toBe(409);

    expect(
      (await admin.put(`${base}/${second.id}`, { member_role: "owner" }, anyVersion)).status,
    ).toBe(200);
    expect(
      (await admin.put(`${base}/${first.id}`, { member_role: "member" }, anyVersion)).status,
    ).toBe(200);
    expect((await admin.delete(`${base}/${first.id}`, anyVersion)).status).toBe(200);
    expect((await admin.delete(`${base}/${second.id}`, anyVersion)).status).toBe(409);
  });

  it("refuses an existing member (409), an unknown user (400) and bad input (400)", async () => {
    const organization = await createOrganization(admin);
    const base = `/organizations/${organization.id}/members`;
    const user = await t.createUser();
    expect((await admin.post(base, { user_id: user.id })).status).toBe(201);
    const again = await admin.post(base, { user_id: user.id, member_role: "admin" });
    expect(again.status).toBe(409);
    expect(firstField(again)).toBe("user_id");

    const deleted = await t.createUser();
    await t.deps.db`update admin.platform_users set deleted_at = now(), is_active = false
                    where id = ${deleted.id}`;
    for (const [body, field] of [
      [{ user_id: UNKNOWN_ID }, "user_id"],
      [{ user_id: deleted.id }, "user_id"],
      [{ user_id: "nobody" }, "user_id"],
      [{ user_id: user.id, member_role: "king" }, "member_role"],
      [{ user_id: user.id, added_by: user.id }, "added_by"],
      [{}, "user_id"],
    ] as const) {
      const reply = await admin.post(base, body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(firstField(reply), JSON.stringify(body)).toBe(field);
    }
    const bad = await admin.put(
      `${base}/${user.id}`,
      { member_role: "owner", user_id: UNKNOWN_ID },
      anyVersion,
    );
    expect(bad.status).toBe(400);
    expect(firstField(bad)).toBe("user_id");
    const rows = await t.deps.db<{ member_role: string }[]>`
      select member_role from admin.organization_members where organization_id = ${organization.id}`;
    expect(rows).toEqual([{ member_role: "member" }]);
  });

  it("404 for a non-member, an unknown organization or a deleted one", async () => {
    const organization = await createOrganization(admin);
    const stranger = await t.createUser();
    const base = `/organizations/${organization.id}/members`;
    expect((await admin.get(`${base}/${stranger.id}`)).status).toBe(404);
    expect(
      (await admin.put(`${base}/${stranger.id}`, { member_role: "admin" }, anyVersion)).status,
    ).toBe(404);
    expect((await admin.delete(`${base}/${stranger.id}`, anyVersion)).status).toBe(404);
    expect((await admin.get(`/organizations/${UNKNOWN_ID}/members`)).status).toBe(404);
    expect(
      (await admin.post(`/organizations/${UNKNOWN_ID}/members`, { user_id: stranger.id })).status,
    ).toBe(404);
    await admin.delete(`/organizations/${organization.id}`, { "If-Match": "*" });
    expect((await admin.get(base)).status).toBe(404);
    expect((await admin.post(base, { user_id: stranger.id })).status).toBe(404);
  });
});
