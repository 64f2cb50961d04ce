import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PlatformUser } from "../../src/features/users/schemas";
import { apiClient, firstField, rotatingClient } from "../support/api-client";
import { createTestApp, type TestApp } from "../support/harness";
import { createUser, uniqueTag } from "./support";

let t: TestApp;
let admin: ReturnType<typeof rotatingClient>;

beforeAll(async () => {
  t = await createTestApp();
  admin = rotatingClient(t);
});
afterAll(() => t.close());

interface Page {
  items: PlatformUser[];
  pagination: Record<string, unknown>;
}
interface CursorPage {
  items: PlatformUser[];
  pagination: { page_size: number; has_next: boolean; next_cursor: string | null };
}

/** Users of one company made for one test, so filters see only them. */
async function cohort(company: string, overrides: Record<string, unknown>[]) {
  const made: PlatformUser[] = [];
  for (const o of overrides) made.push(await createUser(admin, { company, ...o }));
  return made;
}

const names = (page: { items: PlatformUser[] }) => page.items.map((u) => u.username);

describe("GET /users", () => {
  it("filters, searches, sorts and pages (page mode with totals)", async () => {
    const company = uniqueTag("co");
    const [a, b, c] = await cohort(company, [
      { username: `${company}-a`, job_title: "Engineer", departments: ["Platform"] },
      { username: `${company}-b`, job_title: "Designer", departments: ["Design", "Platform"] },
      { username: `${company}-c`, job_title: "Senior Engineer" },
    ]);
    const all = await admin.get<Page>(`/users?company=${company}&sort=username`);
    expect(names(all.body.data)).toEqual([a?.username, b?.username, c?.username]);
    expect(all.body.data.pagination).toMatchObject({ page: 1, total_items: 3, has_next: false });

    const engineers = await admin.get<Page>(
      `/users?company=${company}&job_title=engineer&sort=username`,
    );
    expect(names(engineers.body.data)).toEqual([a?.username, c?.username]);
    const platform = await admin.get<Page>(
      `/users?company=${company}&department=platform&sort=username`,
    );
    expect(names(platform.body.data)).toEqual([a?.username, b?.username]);
    const byEmail = await admin.get<Page>(
      `/users?email=${encodeURIComponent(b?.email.toUpperCase() ?? "")}`,
    );
    expect(names(byEmail.body.data)).toEqual([b?.username]);
    const byUsername = await admin.get<Page>(`/users?username=${c?.username}`);
    expect(names(byUsername.body.data)).toEqual([c?.username]);
    const search = await admin.get<Page>(`/users?search=${company}-b`);
    expect(names(search.body.data)).toEqual([b?.username]);

    const page2 = await admin.get<Page>(
      `/users?company=${company}&sort=username&order=desc&page=2&page_size=2`,
    );
    expect(names(page2.body.data)).toEqual([a?.username]);
    expect(page2.body.data.pagination).toMatchObject({
      page: 2,
      total_pages: 2,
      has_previous: true,
    });

    await admin.post(`/users/${b?.id}/status`, { is_active: false });
    const active = await admin.get<Page>(`/users?company=${company}&is_active=true&sort=username`);
    expect(names(active.body.data)).toEqual([a?.username, c?.username]);
    const inactive = await admin.get<Page>(`/users?company=${company}&is_active=false`);
    expect(names(inactive.body.data)).toEqual([b?.username]);
    const provider = await admin.get<Page>(
      `/users?company=${company}&external_auth_provider=google`,
    );
    expect(provider.body.data.items).toEqual([]);
  });

  it("has_role, has_permission (wildcards, denials, superadmins) and tenant_access", async () => {
    const company = uniqueTag("co");
    const [operator, auditor, plain, root, denied] = await cohort(company, [{}, {}, {}, {}, {}]);
    const db = t.deps.db;
    const grantRole = (id: string | undefined, role: string) => db`
      insert into admin.platform_user_roles (user_id, role_id)
      select ${id ?? ""}, id from admin.platform_roles where code = ${role}`;
    await grantRole(operator?.id, "platform_operator");
    await grantRole(auditor?.id, "platform_auditor");
    await grantRole(denied?.id, "platform_operator");
    await db`insert into admin.platform_user_permissions (user_id, permission_id, is_granted)
             select ${denied?.id ?? ""}, id, false from admin.platform_permissions where code = 'users:read'`;
    await db`update admin.platform_users set is_superadmin = true where id = ${root?.id ?? ""}`;

    const q = (query: string) =>
      admin.get<Page>(`/users?company=${company}&sort=username&${query}`);
    const sorted = (...users: (PlatformUser | undefined)[]) => users.map((u) => u?.username).sort();
    expect(names((await q("has_role=platform_operator")).body.data).sort()).toEqual(
      sorted(operator, denied),
    );
    expect(
      names((await q("has_role=platform_auditor,platform_operator")).body.data).sort(),
    ).toEqual(sorted(operator, auditor, denied));
    // users:read through a role (the operator), the auditor's audit:* wildcard for audit:export,
    // a direct denial removing it, and the superadmin who holds everything.
    expect(names((await q("has_permission=users:read")).body.data).sort()).toEqual(
      sorted(operator, auditor, root),
    );
    expect(names((await q("has_permission=audit:export")).body.data).sort()).toEqual(
      sorted(auditor, root),
    );
    expect(names((await q("has_permission=users:list")).body.data)).not.toContain(plain?.username);

    const [org] = await db<{ id: string }[]>`
      insert into admin.organizations (name, slug) values ('Org', ${company}) returning id`;
    const [tenant] = await db<{ id: string }[]>`
      insert into admin.tenants (organization_id, slug, name, schema_name, external_auth_realm, external_user_id)
      values (${org?.id ?? ""}, ${company}, 'T', ${`tenant_${company}`}, 'tenant-realm', 'x') returning id`;
    await db`insert into admin.tenant_access_grants (tenant_id, user_id) values (${tenant?.id ?? ""}, ${plain?.id ?? ""})`;
    await db`insert into admin.tenant_access_grants (tenant_id, user_id, is_active, revoked_at)
             values (${tenant?.id ?? ""}, ${auditor?.id ?? ""}, false, now())`;
    expect(names((await q(`tenant_access=${tenant?.id}`)).body.data)).toEqual([plain?.username]);
  });

  it("pages by cursor without gaps or repeats, in every sort, while users are added", async () => {
    const company = uniqueTag("co");
    const made = await cohort(
      company,
      Array.from({ length: 7 }, (_, i) => ({ username: `${company}-${i}` })),
    );
    // created_at last: a user added mid-way through it would shift an OFFSET page.
    for (const [sort, expected] of [
      ["username", made],
      ["last_login_at", [...made].reverse()],
      ["created_at", [...made].reverse()],
    ] as const) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = `/users?company=${company}&sort=${sort}&pagination_mode=cursor&page_size=3${cursor ? `&cursor=${cursor}` : ""}`;
        const reply = await admin.get<CursorPage>(query);
        expect(reply.status, query).toBe(200);
        seen.push(...names(reply.body.data));
        cursor = reply.body.data.pagination.next_cursor;
        pages += 1;
        // A user added mid-way is newer than every page already read: it never shifts them.
        if (pages === 1 && sort === "created_at") {
          await createUser(admin, { company });
        }
      } while (cursor);
      expect(pages, sort).toBe(3);
      expect(seen, sort).toEqual(expected.map((u) => u.username));
    }
  });

  it.each([
    ["sort=first_name", "sort"],
    ["page_size=101", "page_size"],
    ["is_active=yes", "is_active"],
    ["has_role=Bad Code", "has_role.0"],
    ["has_permission=users", "has_permission.0"],
    ["tenant_access=42", "tenant_access"],
    ["external_auth_provider=okta", "external_auth_provider"],
    ["cursor=not-a-cursor", "cursor"],
    [`cursor=${btoa(JSON.stringify(["username", "asc", "x", crypto.randomUUID()]))}`, "cursor"],
    ["pagination_mode=page&cursor=abc", "cursor"],
    ["pagination_mode=cursor&page=2", "page"],
  ])("refuses ?%s naming %s", async (query, field) => {
    const reply = await admin.get(`/users?${query}`);
    expect(reply.status).toBe(400);
    expect(firstField(reply)).toBe(field);
  });
});

describe("POST /users/search", () => {
  it("matches the query in the listed fields, with typed filters and sort", async () => {
    const company = uniqueTag("co");
    const [a, b] = await cohort(company, [
      { first_name: "Grace", username: `${company}-x` },
      { first_name: "Ada", last_name: "Grace", username: `${company}-y` },
    ]);
    const both = await admin.post<Page>("/users/search", {
      query: "grace",
      filters: { company },
      sort_by: "username",
      sort_order: "desc",
    });
    expect(both.status).toBe(200);
    expect(names(both.body.data)).toEqual([b?.username, a?.username]);
    const firstOnly = await admin.post<Page>("/users/search", {
      query: "grace",
      fields: ["first_name"],
      filters: { company, is_active: true },
    });
    expect(names(firstOnly.body.data)).toEqual([a?.username]);
  });

  it.each([
    [{ fields: ["password"] }, "fields.0"],
    [{ sort_by: "phone" }, "sort_by"],
    [{ filters: { deleted: true } }, "filters.deleted"],
    [{ filters: { has_role: "admin" } }, "filters.has_role"],
    [{ page_size: 1000 }, "page_size"],
  ])("refuses %j naming %s", async (body, field) => {
    const reply = await admin.post("/users/search", body);
    expect(reply.status).toBe(400);
    expect(firstField(reply)).toBe(field);
  });

  it("needs users:search", async () => {
    const lister = await apiClient(t, await t.createUser({ permissions: ["users:list"] }));
    expect((await lister.get("/users?page_size=1")).status).toBe(200);
    expect((await lister.post("/users/search", {})).status).toBe(403);
  });
});
