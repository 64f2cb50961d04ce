import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Organization } from "../../src/features/organizations/schemas";
import { type ApiClient, apiClient, rotatingClient } from "../support/api-client";
import { createTestApp, type TestApp, type TestUser } from "../support/harness";
import { createOrganization, insertTenant, organizationInput } from "./support";

/**
 * Who may not touch organizations: a platform user whose only grants are tenant-scoped (even in
 * a tenant of the organization), one with an unrelated platform permission, and a member (even
 * the owner) of the organization itself. Membership and tenant grants never open this API.
 */
let t: TestApp;
let admin: ReturnType<typeof rotatingClient>;
let own: Organization;
let other: Organization;
/** The owner of `own`: a member, with no platform permission. */
let owner: TestUser;
let memberId: string;

beforeAll(async () => {
  t = await createTestApp();
  admin = rotatingClient(t);
  own = await createOrganization(admin);
  other = await createOrganization(admin);
  owner = await t.createUser();
  memberId = owner.id;
  await admin.post(`/organizations/${own.id}/members`, { user_id: memberId, member_role: "owner" });
});
afterAll(() => t.close());

/** Every organization route, against one organization. */
function routes(organization: Organization) {
  const base = `/organizations/${organization.id}`;
  const ifMatch = { "If-Match": "*" };
  return [
    ["GET", "/organizations", undefined, undefined],
    ["POST", "/organizations", organizationInput(), undefined],
    ["GET", base, undefined, undefined],
    ["GET", `/organizations/slug/${organization.slug}`, undefined, undefined],
    ["PUT", base, { name: "Taken over" }, ifMatch],
    ["DELETE", base, undefined, ifMatch],
    ["GET", `${base}/settings`, undefined, undefined],
    ["PUT", `${base}/settings`, { settings: { "a.b": { value: 1 } } }, undefined],
    ["GET", `${base}/members`, undefined, undefined],
    ["GET", `${base}/members/${memberId}`, undefined, undefined],
    ["POST", `${base}/members`, { user_id: memberId }, undefined],
    ["PUT", `${base}/members/${memberId}`, { member_role: "member" }, ifMatch],
    ["DELETE", `${base}/members/${memberId}`, undefined, ifMatch],
  ] as const;
}

async function expectRefusedEverywhere(client: ApiClient) {
  for (const organization of [own, other]) {
    for (const [method, path, body, headers] of routes(organization)) {
      const reply = await client.call(method, path, {
        ...(body === undefined ? {} : { body }),
        ...(headers ? { headers } : {}),
      });
      expect.soft(reply.status, `${method} ${path}`).toBe(403);
      expect.soft(JSON.stringify(reply.body), `${method} ${path}`).not.toContain(organization.slug);
    }
  }
}

/** Nothing the refused calls could have changed did change. */
async function expectUntouched() {
  const rows = await t.deps.db<{ id: string; version: number; deleted_at: Date | null }[]>`
    select id, version, deleted_at from admin.organizations where id in (${own.id}, ${other.id})
    order by id`;
  expect(rows.map((r) => [r.version, r.deleted_at])).toEqual([
    [1, null],
    [1, null],
  ]);
  expect(
    await t.deps.db`select 1 from admin.organization_settings
                    where organization_id in (${own.id}, ${other.id})`,
  ).toHaveLength(0);
  expect(
    await t.deps.db<{ user_id: string; member_role: string }[]>`
      select user_id, member_role from admin.organization_members
      where organization_id in (${own.id}, ${other.id})`,
  ).toEqual([{ user_id: memberId, member_role: "owner" }]);
}

describe("organization access", () => {
  it("a user with only tenant-scoped grants (in the organization's own tenant) gets 403 everywhere", async () => {
    const tenantId = await insertTenant(t, own.id);
    const user = await t.createUser();
    await t.deps.db`
      insert into admin.tenant_user_roles (tenant_id, user_id, role_id)
      select ${tenantId}, ${user.id}, id from admin.platform_roles where code = 'tenant_admin'`;
    await t.deps.db`
      insert into admin.tenant_user_permissions (tenant_id, user_id, permission_id)
      select ${tenantId}, ${user.id}, id from admin.platform_permissions
      where code in ('tenant:admin', 'tenant.settings:write')`;
    await expectRefusedEverywhere(await apiClient(t, user));
    await expectUntouched();
  });

  it("a user with an unrelated platform permission gets 403 everywhere", async () => {
    const user = await t.createUser({ permissions: ["regions:read", "tenants:read"] });
    await expectRefusedEverywhere(await apiClient(t, user));
    await expectUntouched();
  });

  it("the organization's own owner, without platform permissions, gets 403 everywhere", async () => {
    await expectRefusedEverywhere(await apiClient(t, owner));
    await expectUntouched();
  });

  it("read-only roles read but cannot change anything", async () => {
    const operator = await apiClient(t, await t.createUser({ roles: ["platform_operator"] }));
    expect((await operator.get("/organizations")).status).toBe(200);
    expect((await operator.get(`/organizations/${other.id}`)).status).toBe(200);
    expect((await operator.get(`/organizations/${other.id}/members`)).status).toBe(200);
    for (const [method, path, body, headers] of routes(other)) {
      if (method === "GET") continue;
      const reply = await operator.call(method, path, {
        ...(body === undefined ? {} : { body }),
        ...(headers ? { headers } : {}),
      });
      expect.soft(reply.status, `${method} ${path}`).toBe(403);
    }
    await expectUntouched();
  });
});
