import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PermissionChecker } from "../../src/core/auth/permission-checker";
import { keys } from "../../src/core/cache/keys";
import { MemoryCache } from "../../src/core/cache/memory";
import { createTestApp, type TestApp } from "../support/harness";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

async function createUser(overrides: { is_superadmin?: boolean } = {}) {
  const suffix = Math.random().toString(36).slice(2, 10);
  const [user] = await t.deps.db<{ id: string; is_superadmin: boolean }[]>`
    insert into admin.platform_users (email, username, external_user_id, is_superadmin)
    values (${`u${suffix}@example.com`}, ${`u${suffix}`}, ${`ext-${suffix}`}, ${overrides.is_superadmin ?? false})
    returning id, is_superadmin`;
  if (!user) throw new Error("no user");
  return user;
}

async function assignRole(userId: string, roleCode: string, expiresAt: Date | null = null) {
  await t.deps.db`
    insert into admin.platform_user_roles (user_id, role_id, expires_at)
    select ${userId}, id, ${expiresAt} from admin.platform_roles where code = ${roleCode}`;
}

async function grant(userId: string, code: string, isGranted = true) {
  await t.deps.db`
    insert into admin.platform_user_permissions (user_id, permission_id, is_granted)
    select ${userId}, id, ${isGranted} from admin.platform_permissions where code = ${code}`;
}

describe("effective permissions", () => {
  it("are the union of role permissions and direct grants", async () => {
    const checker = new PermissionChecker({ cache: new MemoryCache() });
    const user = await createUser();
    await assignRole(user.id, "platform_viewer");
    await grant(user.id, "audit:read");
    expect(await checker.effective(t.deps.db, user.id)).toEqual(["audit:read", "platform:read"]);
    expect(await checker.has(t.deps.db, user, "platform:read")).toBe(true);
    expect(await checker.has(t.deps.db, user, "users:read")).toBe(false);
  });

  it("honour wildcards for one resource only", async () => {
    const checker = new PermissionChecker({ cache: new MemoryCache() });
    const user = await createUser();
    await assignRole(user.id, "platform_admin");
    expect(await checker.has(t.deps.db, user, "users:bulk_operations")).toBe(true);
    expect(await checker.has(t.deps.db, user, "tenant.users:read")).toBe(false);
  });

  it("let a direct denial override a role", async () => {
    const checker = new PermissionChecker({ cache: new MemoryCache() });
    const user = await createUser();
    await assignRole(user.id, "platform_auditor");
    await grant(user.id, "billing:read", false);
    const codes = await checker.effective(t.deps.db, user.id);
    expect(codes).toContain("audit:*");
    expect(codes).not.toContain("billing:read");
  });

  it("ignore expired and inactive grants", async () => {
    const checker = new PermissionChecker({ cache: new MemoryCache() });
    const user = await createUser();
    await assignRole(user.id, "platform_viewer", new Date(Date.now() - 1000));
    await grant(user.id, "audit:read");
    await t.deps
      .db`update admin.platform_user_permissions set is_active = false where user_id = ${user.id}`;
    expect(await checker.effective(t.deps.db, user.id)).toEqual([]);
  });

  it("let a superadmin through everything", async () => {
    const checker = new PermissionChecker({ cache: new MemoryCache() });
    const admin = await createUser({ is_superadmin: true });
    expect(await checker.has(t.deps.db, admin, "anything:at_all")).toBe(true);
  });
});

async function createTenant(): Promise<string> {
  const suffix = Math.random().toString(36).slice(2, 10);
  const [org] = await t.deps.db<{ id: string }[]>`
    insert into admin.organizations (name, slug) values ('Org', ${`org-${suffix}`}) returning id`;
  const [tenant] = await t.deps.db<{ id: string }[]>`
    insert into admin.tenants (organization_id, slug, name, schema_name, external_auth_realm, external_user_id)
    values (${org?.id ?? ""}, ${`t-${suffix}`}, 'T', ${`tenant_${suffix}`}, 'realm', 'x') returning id`;
  if (!tenant) throw new Error("no tenant");
  return tenant.id;
}

describe("tenant-scoped grants", () => {
  it("join in for their tenant only, with tenant denials overriding that tenant's roles", async () => {
    const checker = new PermissionChecker({ cache: new MemoryCache() });
    const user = await createUser();
    await assignRole(user.id, "platform_viewer");
    const [acme, other] = [await createTenant(), await createTenant()];
    await t.deps.db`
      insert into admin.tenant_user_roles (tenant_id, user_id, role_id)
      select ${acme}, ${user.id}, id from admin.platform_roles where code = 'tenant_user'`;
    await t.deps.db`
      insert into admin.tenant_user_permissions (tenant_id, user_id, permission_id, is_granted)
      select ${acme}, ${user.id}, id, code <> 'tenant.settings:read' from admin.platform_permissions
      where code in ('tenant.audit:read', 'tenant.settings:read')`;

    const inAcme = await checker.effective(t.deps.db, user.id, acme);
    expect(inAcme).toContain("platform:read");
    expect(inAcme).toContain("tenant.data:read");
    expect(inAcme).toContain("tenant.audit:read");
    expect(inAcme).not.toContain("tenant.settings:read");
    expect(await checker.has(t.deps.db, user, "tenant.data:read", acme)).toBe(true);
    expect(await checker.has(t.deps.db, user, "tenant.data:read", other)).toBe(false);
    expect(await checker.has(t.deps.db, user, "tenant.data:read")).toBe(false);
    expect(await checker.effective(t.deps.db, user.id, other)).toEqual(["platform:read"]);
  });

  it("count for nothing once the tenant is deleted", async () => {
    const checker = new PermissionChecker({ cache: new MemoryCache() });
    const user = await createUser();
    const tenant = await createTenant();
    await t.deps.db`
      insert into admin.tenant_user_roles (tenant_id, user_id, role_id)
      select ${tenant}, ${user.id}, id from admin.platform_roles where code = 'tenant_user'`;
    expect(await checker.has(t.deps.db, user, "tenant:read", tenant)).toBe(true);
    await t.deps
      .db`update admin.tenants set status = 'deleted', deleted_at = now() where id = ${tenant}`;
    await checker.invalidateUser(user.id);
    expect(await checker.has(t.deps.db, user, "tenant:read", tenant)).toBe(false);
  });
});

describe("caching", () => {
  it("caches under platform:perms:user:{id}:tenant:- and is cleared by invalidation", async () => {
    const cache = new MemoryCache();
    const checker = new PermissionChecker({ cache });
    const user = await createUser();
    await assignRole(user.id, "platform_viewer");
    await checker.effective(t.deps.db, user.id);
    const key = keys.platform("perms", "user", user.id, "tenant", "-");
    expect(await cache.get(key)).toEqual(["platform:read"]);
    expect(await cache.ttl(key)).toBeGreaterThan(590);

    await t.deps.db`delete from admin.platform_user_roles where user_id = ${user.id}`;
    expect(await checker.effective(t.deps.db, user.id)).toEqual(["platform:read"]); // cached
    await checker.invalidateUser(user.id);
    expect(await checker.effective(t.deps.db, user.id)).toEqual([]);

    await assignRole(user.id, "platform_viewer");
    await checker.effective(t.deps.db, user.id);
    await checker.invalidateAll();
    expect(await cache.get(key)).toBeNull();
  });

  it("caches no longer than the earliest grant expiry", async () => {
    const cache = new MemoryCache();
    const checker = new PermissionChecker({ cache });
    const user = await createUser();
    await assignRole(user.id, "platform_viewer", new Date(Date.now() + 120_000));
    await checker.effective(t.deps.db, user.id);
    const ttl = await cache.ttl(keys.platform("perms", "user", user.id, "tenant", "-"));
    expect(ttl).toBeGreaterThan(100);
    expect(ttl).toBeLessThanOrEqual(120);
  });
});
