import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Organization } from "../../src/features/organizations/schemas";
import { apiClient, firstField, rotatingClient } from "../support/api-client";
import { createTestApp, type TestApp } from "../support/harness";
import {
  auditEntries,
  createOrganization,
  insertTenant,
  organizationInput,
  UNKNOWN_ID,
  uniqueSlug,
} from "./support";

let t: TestApp;
let admin: ReturnType<typeof rotatingClient>;

beforeAll(async () => {
  t = await createTestApp();
  admin = rotatingClient(t);
});
afterAll(() => t.close());

async function storedSlugs(slug: string): Promise<number> {
  const [row] = await t.deps.db<{ n: number }[]>`
    select count(*)::int as n from admin.organizations where slug = ${slug}`;
  return row?.n ?? -1;
}

describe("create an organization", () => {
  it("answers 201 with the organization, its Location and ETag, and audits who, what and why", async () => {
    const client = await apiClient(t, await t.createUser({ roles: ["platform_admin"] }));
    const contact = await t.createUser();
    const input = organizationInput({
      primary_contact_id: contact.id,
      website_url: "https://acme.example.com",
      brand_colors: { primary: "#1a73e8" },
      verification_documents: ["doc-1"],
      default_locale: "en-IE",
    });
    const reply = await client.post<Organization>("/organizations", input, {
      "X-Audit-Reason": "signed contract 42",
    });
    expect(reply.status).toBe(201);
    const organization = reply.body.data;
    expect(organization).toMatchObject({
      slug: input.slug,
      country_code: "IE",
      default_currency: "EUR",
      default_timezone: "Europe/Dublin",
      default_locale: "en-IE",
      primary_contact_id: contact.id,
      brand_colors: { primary: "#1a73e8" },
      verification_documents: ["doc-1"],
      is_active: true,
      verified_at: null,
      deleted_at: null,
      version: 1,
    });
    expect(reply.headers.get("location")).toBe(`/api/v1/organizations/${organization.id}`);
    expect(reply.headers.get("etag")).toBe('"1"');

    const [entry, ...more] = await auditEntries(t, organization.id);
    expect(more).toEqual([]);
    expect(entry).toMatchObject({
      action: "organizations.create",
      actor_id: client.user.id,
      actor_username: client.user.username,
      organization_id: organization.id,
      reason: "signed contract 42",
      before: null,
      request_id: reply.body.metadata.request_id,
    });
    expect(entry?.after).toMatchObject({ id: organization.id, slug: input.slug });
  });

  it("applies the table's defaults for what is not sent", async () => {
    const organization = await createOrganization(admin, {
      country_code: undefined,
      default_currency: undefined,
      default_timezone: undefined,
    });
    expect(organization).toMatchObject({
      country_code: null,
      default_currency: "USD",
      default_timezone: "UTC",
      default_locale: "en-US",
      brand_colors: {},
      verification_documents: [],
    });
  });

  it("a taken slug is 409 naming the field, and nothing else is written", async () => {
    const first = await createOrganization(admin);
    const reply = await admin.post("/organizations", organizationInput({ slug: first.slug }));
    expect(reply.status).toBe(409);
    expect(firstField(reply)).toBe("slug");
    expect(await storedSlugs(first.slug)).toBe(1);
  });

  it.each([
    [{ slug: "Bad_Slug" }, "slug"],
    [{ slug: "a" }, "slug"],
    [{ slug: "-acme" }, "slug"],
    [{ slug: "x".repeat(101) }, "slug"],
    [{ name: "  " }, "name"],
    [{ country_code: "XX" }, "country_code"],
    [{ country_code: "ie" }, "country_code"],
    [{ default_currency: "XXZ" }, "default_currency"],
    [{ default_currency: "eur" }, "default_currency"],
    [{ primary_contact_id: UNKNOWN_ID }, "primary_contact_id"],
    [{ primary_contact_id: "someone" }, "primary_contact_id"],
    [{ website_url: "ftp://acme.example.com" }, "website_url"],
    [{ default_timezone: "Mars/Olympus_Mons" }, "default_timezone"],
    [{ default_locale: "english" }, "default_locale"],
    [{ brand_colors: { primary: "blue" } }, "brand_colors.primary"],
    [{ tax_id: "x".repeat(51) }, "tax_id"],
  ])("refuses %j with 400 naming %s, storing nothing", async (overrides, field) => {
    const input = organizationInput(overrides);
    const reply = await admin.post("/organizations", input);
    expect(reply.status).toBe(400);
    expect(firstField(reply)).toBe(field);
    expect(await storedSlugs(input.slug)).toBe(0);
  });

  it.each([
    ["id", UNKNOWN_ID],
    ["version", 7],
    ["deleted_at", "2026-01-01T00:00:00Z"],
    ["verified_at", "2026-01-01T00:00:00Z"],
    ["is_active", false],
    ["created_at", "2026-01-01T00:00:00Z"],
  ])(
    "refuses the server-owned field %s (mass assignment) and stores nothing",
    async (field, value) => {
      const input = organizationInput({ [field]: value });
      const reply = await admin.post("/organizations", input);
      expect(reply.status).toBe(400);
      expect(firstField(reply)).toBe(field);
      expect(await storedSlugs(input.slug)).toBe(0);
    },
  );

  it("refuses a primary contact who is a deleted platform user", async () => {
    const gone = await t.createUser();
    await t.deps.db`update admin.platform_users set deleted_at = now(), is_active = false
                    where id = ${gone.id}`;
    const reply = await admin.post(
      "/organizations",
      organizationInput({ primary_contact_id: gone.id }),
    );
    expect(reply.status).toBe(400);
    expect(firstField(reply)).toBe("primary_contact_id");
  });
});

describe("read organizations", () => {
  it("gets one by id and by slug, with an ETag that answers If-None-Match with 304", async () => {
    const organization = await createOrganization(admin);
    const byId = await admin.get<Organization>(`/organizations/${organization.id}`);
    expect(byId.status).toBe(200);
    expect(byId.body.data).toEqual(organization);
    expect(byId.headers.get("etag")).toBe('"1"');
    expect(byId.headers.get("cache-control")).toBe("private, no-cache");
    const bySlug = await admin.get<Organization>(`/organizations/slug/${organization.slug}`);
    expect(bySlug.body.data).toEqual(organization);
    expect(bySlug.headers.get("etag")).toBe('"1"');
    const again = await admin.get(`/organizations/${organization.id}`, { "If-None-Match": '"1"' });
    expect(again.status).toBe(304);
    const bySlugAgain = await admin.get(`/organizations/slug/${organization.slug}`, {
      "If-None-Match": '"1"',
    });
    expect(bySlugAgain.status).toBe(304);
  });

  it("404 for an unknown id or slug, 400 for a malformed one", async () => {
    const unknown = await admin.get(`/organizations/${UNKNOWN_ID}`);
    expect(unknown.status).toBe(404);
    expect(firstField(unknown)).toBe("organization_id");
    expect((await admin.get("/organizations/slug/nobody-here-1")).status).toBe(404);
    const bad = await admin.get("/organizations/not-a-uuid");
    expect(bad.status).toBe(400);
    expect(firstField(bad)).toBe("organization_id");
    expect(firstField(await admin.get("/organizations/slug/Not_A_Slug"))).toBe("slug");
  });

  it("lists with filters, search, sort and pagination, never a deleted organization", async () => {
    const tag = uniqueSlug("lst");
    const a = await createOrganization(admin, {
      slug: `${tag}-a`,
      name: "Alpha",
      industry: "Retail",
    });
    const b = await createOrganization(admin, {
      slug: `${tag}-b`,
      name: "Bravo",
      country_code: "JP",
      company_size: "1-10",
    });
    const legal = uniqueSlug("legal");
    const c = await createOrganization(admin, {
      slug: `${tag}-c`,
      name: "Charlie",
      legal_name: `Charlie ${legal} Ltd`,
    });
    const gone = await createOrganization(admin, { slug: `${tag}-d`, name: "Delta" });
    await t.deps.db`update admin.organizations set verified_at = now() where id = ${c.id}`;
    await t.deps.db`update admin.organizations set is_active = false where id = ${b.id}`;
    expect((await admin.delete(`/organizations/${gone.id}`, { "If-Match": "*" })).status).toBe(200);

    type Page = { items: Organization[]; pagination: Record<string, unknown> };
    const slugs = async (query: string) =>
      (await admin.get<Page>(`/organizations?search=${tag}&${query}`)).body.data.items.map(
        (o) => o.slug,
      );
    // Newest first by default.
    expect(await slugs("page_size=100")).toEqual([c.slug, b.slug, a.slug]);
    expect(await slugs("sort=name")).toEqual([a.slug, b.slug, c.slug]);
    expect(await slugs("sort=slug&order=desc")).toEqual([c.slug, b.slug, a.slug]);
    expect(await slugs("country_code=JP")).toEqual([b.slug]);
    expect(await slugs("industry=Retail")).toEqual([a.slug]);
    expect(await slugs("company_size=1-10")).toEqual([b.slug]);
    expect(await slugs("is_active=false&sort=name")).toEqual([b.slug]);
    expect(await slugs("is_active=true&sort=name")).toEqual([a.slug, c.slug]);
    expect(await slugs("is_verified=true")).toEqual([c.slug]);
    expect(await slugs("is_verified=false&sort=name")).toEqual([a.slug, b.slug]);

    const byLegalName = await admin.get<Page>(`/organizations?search=${legal.toUpperCase()}`);
    expect(byLegalName.body.data.items.map((o) => o.id)).toEqual([c.id]);

    const page2 = await admin.get<Page>(
      `/organizations?search=${tag}&sort=name&page=2&page_size=2`,
    );
    expect(page2.body.data.items.map((o) => o.slug)).toEqual([c.slug]);
    expect(page2.body.data.pagination).toMatchObject({
      page: 2,
      total_items: 3,
      total_pages: 2,
      has_next: false,
      has_previous: true,
    });
  });

  it("search treats LIKE wildcards as text", async () => {
    const reply = await admin.get<{ items: Organization[] }>("/organizations?search=%25_%25");
    expect(reply.status).toBe(200);
    expect(reply.body.data.items).toEqual([]);
  });

  it.each([
    ["sort=tax_id", "sort"],
    ["order=up", "order"],
    ["page_size=101", "page_size"],
    ["is_verified=yes", "is_verified"],
    ["country_code=ireland", "country_code"],
  ])("refuses ?%s naming %s", async (query, field) => {
    const reply = await admin.get(`/organizations?${query}`);
    expect(reply.status).toBe(400);
    expect(firstField(reply)).toBe(field);
  });
});

describe("update an organization (If-Match)", () => {
  it("428 without If-Match, 412 with a stale ETag, 200 with the current one; reads see the write", async () => {
    const organization = await createOrganization(admin);
    const path = `/organizations/${organization.id}`;
    // Cached by this read: the update must drop it.
    expect((await admin.get<Organization>(path)).body.data.name).toBe("Acme Corporation");

    const missing = await admin.put(path, { name: "Acme Two" });
    expect(missing.status).toBe(428);
    expect(firstField(missing)).toBe("If-Match");
    const ok = await admin.put<Organization>(
      path,
      { name: "Acme Two", legal_name: null, is_active: false },
      { "If-Match": '"1"', "X-Audit-Reason": "rebrand" },
    );
    expect(ok.status).toBe(200);
    expect(ok.body.data).toMatchObject({
      name: "Acme Two",
      legal_name: null,
      is_active: false,
      slug: organization.slug,
      version: 2,
    });
    expect(ok.headers.get("etag")).toBe('"2"');

    const read = await admin.get<Organization>(path);
    expect(read.body.data).toMatchObject({ name: "Acme Two", version: 2, is_active: false });
    expect(read.headers.get("etag")).toBe('"2"');

    const stale = await admin.put(path, { name: "Lost" }, { "If-Match": '"1"' });
    expect(stale.status).toBe(412);
    expect(stale.headers.get("etag")).toBe('"2"');
    expect((await admin.put(path, { name: "Lost" }, { "If-Match": 'W/"2"' })).status).toBe(412);
    const any = await admin.put<Organization>(path, { is_active: true }, { "If-Match": "*" });
    expect(any.body.data).toMatchObject({ is_active: true, version: 3 });

    const entries = await auditEntries(t, organization.id);
    expect(entries.map((e) => e.action)).toEqual([
      "organizations.create",
      "organizations.update",
      "organizations.update",
    ]);
    expect(entries[1]).toMatchObject({ reason: "rebrand", organization_id: organization.id });
    expect(entries[1]?.before).toMatchObject({ name: "Acme Corporation", version: 1 });
    expect(entries[1]?.after).toMatchObject({ name: "Acme Two", version: 2 });
    expect((await admin.get<Organization>(path)).body.data.name).toBe("Acme Two");
  });

  it.each([
    [{ slug: "renamed-org" }, "slug"],
    [{ id: UNKNOWN_ID }, "id"],
    [{ version: 9 }, "version"],
    [{ deleted_at: "2026-01-01T00:00:00Z" }, "deleted_at"],
    [{ verified_at: "2026-01-01T00:00:00Z" }, "verified_at"],
    [{ name: "" }, "name"],
    [{ name: null }, "name"],
    [{ default_currency: "XXZ" }, "default_currency"],
    [{ country_code: "XX" }, "country_code"],
    [{ primary_contact_id: UNKNOWN_ID }, "primary_contact_id"],
  ])("refuses %j with 400 naming %s, changing nothing", async (body, field) => {
    const organization = await createOrganization(admin);
    const reply = await admin.put(`/organizations/${organization.id}`, body, { "If-Match": "*" });
    expect(reply.status).toBe(400);
    expect(firstField(reply)).toBe(field);
    const [row] = await t.deps.db<{ version: number; slug: string }[]>`
      select version, slug from admin.organizations where id = ${organization.id}`;
    expect(row).toEqual({ version: 1, slug: organization.slug });
  });

  it("refuses an empty update", async () => {
    const organization = await createOrganization(admin);
    const reply = await admin.put(`/organizations/${organization.id}`, {}, { "If-Match": "*" });
    expect(reply.status).toBe(400);
  });

  it("404 for an unknown organization", async () => {
    const reply = await admin.put(
      `/organizations/${UNKNOWN_ID}`,
      { name: "X" },
      { "If-Match": "*" },
    );
    expect(reply.status).toBe(404);
  });
});

describe("delete an organization", () => {
  it("needs If-Match, is refused while a tenant is live, then soft-deletes", async () => {
    const organization = await createOrganization(admin);
    const path = `/organizations/${organization.id}`;
    expect((await admin.get(path)).status).toBe(200);
    const tenant = await insertTenant(t, organization.id, "active");
    await insertTenant(t, organization.id, "archived");

    expect((await admin.delete(path)).status).toBe(428);
    const refused = await admin.delete(path, { "If-Match": '"1"' });
    expect(refused.status).toBe(409);
    expect(refused.body.message).toContain("1 active tenant");
    expect(firstField(refused)).toBe("organization_id");

    await t.deps.db`update admin.tenants set status = 'suspended' where id = ${tenant}`;
    expect((await admin.delete(path, { "If-Match": '"1"' })).status).toBe(409);

    await t.deps.db`update admin.tenants set status = 'archived' where id = ${tenant}`;
    expect((await admin.delete(path, { "If-Match": '"2"' })).status).toBe(412);
    const done = await admin.delete<Organization>(path, {
      "If-Match": '"1"',
      "X-Audit-Reason": "customer left",
    });
    expect(done.status).toBe(200);
    expect(done.body.data).toMatchObject({ id: organization.id, is_active: false, version: 2 });
    expect(done.body.data.deleted_at).not.toBeNull();

    // Gone from every read (the cached copy was dropped), and its slug is never reused.
    expect((await admin.get(path)).status).toBe(404);
    expect((await admin.get(`/organizations/slug/${organization.slug}`)).status).toBe(404);
    expect((await admin.delete(path, { "If-Match": "*" })).status).toBe(404);
    expect((await admin.put(path, { name: "Back" }, { "If-Match": "*" })).status).toBe(404);
    const reuse = await admin.post(
      "/organizations",
      organizationInput({ slug: organization.slug }),
    );
    expect(reuse.status).toBe(409);
    expect(firstField(reuse)).toBe("slug");

    const [row] = await t.deps.db<{ deleted_at: Date | null; is_active: boolean }[]>`
      select deleted_at, is_active from admin.organizations where id = ${organization.id}`;
    expect(row?.deleted_at).toBeInstanceOf(Date);
    expect(row?.is_active).toBe(false);
    const entry = (await auditEntries(t, organization.id)).at(-1);
    expect(entry).toMatchObject({ action: "organizations.delete", reason: "customer left" });
    expect(entry?.before).toMatchObject({ deleted_at: null, is_active: true });
    expect(entry?.after).toMatchObject({ is_active: false });
  });
});

describe("Idempotency-Key on create", () => {
  it("replays the first answer for the same request, 422 for a different one", async () => {
    const client = await apiClient(t, await t.createUser({ roles: ["platform_admin"] }));
    const input = organizationInput();
    const key = `idem-${input.slug}`;
    const first = await client.post<Organization>("/organizations", input, {
      "Idempotency-Key": key,
    });
    expect(first.status).toBe(201);
    const replay = await client.post<Organization>("/organizations", input, {
      "Idempotency-Key": key,
    });
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body.data.id).toBe(first.body.data.id);
    expect(replay.headers.get("location")).toBe(first.headers.get("location"));
    expect(await storedSlugs(input.slug)).toBe(1);

    const different = await client.post(
      "/organizations",
      { ...input, name: "Another" },
      { "Idempotency-Key": key },
    );
    expect(different.status).toBe(422);
    expect(different.body.errors?.[0]?.code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect(await auditEntries(t, first.body.data.id)).toHaveLength(1);
  });
});

describe("audit reason", () => {
  it("a reason over 500 characters is 400 naming the header, and nothing is written", async () => {
    const input = organizationInput();
    const reply = await admin.post("/organizations", input, { "X-Audit-Reason": "x".repeat(501) });
    expect(reply.status).toBe(400);
    expect(firstField(reply)).toBe("X-Audit-Reason");
    expect(await storedSlugs(input.slug)).toBe(0);
  });
});
