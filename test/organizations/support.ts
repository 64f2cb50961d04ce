import type { Organization } from "../../src/features/organizations/schemas";
import type { ApiClient } from "../support/api-client";
import type { TestApp } from "../support/harness";

/** An id no row has. */
export const UNKNOWN_ID = "0193a1f2-7c1e-7b3a-9a5e-2f1c4d5e6f70";

/** A slug no other test or earlier run on the database uses. */
export function uniqueSlug(prefix = "org"): string {
  const random = crypto.getRandomValues(new Uint32Array(2));
  return `${prefix}-${(random[0] ?? 0).toString(36)}${(random[1] ?? 0).toString(36)}`;
}

export function organizationInput(overrides: Record<string, unknown> = {}) {
  return {
    name: "Acme Corporation",
    slug: uniqueSlug(),
    legal_name: "Acme Corporation Ltd",
    industry: "Manufacturing",
    company_size: "51-200",
    country_code: "IE",
    default_currency: "EUR",
    default_timezone: "Europe/Dublin",
    ...overrides,
  };
}

export async function createOrganization(
  client: Pick<ApiClient, "post">,
  overrides: Record<string, unknown> = {},
): Promise<Organization> {
  const reply = await client.post<Organization>("/organizations", organizationInput(overrides));
  if (reply.status !== 201) {
    throw new Error(`organization not created: ${reply.status} ${JSON.stringify(reply.body)}`);
  }
  return reply.body.data;
}

/** A tenant of the organization, written with SQL (the tenants API is not this feature's). */
export async function insertTenant(
  t: TestApp,
  organizationId: string,
  status = "active",
): Promise<string> {
  const slug = uniqueSlug("t").slice(0, 54);
  const [row] = await t.deps.db<{ id: string }[]>`
    insert into admin.tenants (organization_id, slug, name, schema_name, external_auth_realm,
                               external_user_id, status)
    values (${organizationId}, ${slug}, 'Tenant', ${`tenant_${slug.replace(/-/g, "_")}`},
            'tenant-realm', 'x', ${status})
    returning id`;
  if (!row) throw new Error("tenant not inserted");
  return row.id;
}

export interface AuditRow {
  action: string;
  actor_id: string | null;
  actor_username: string | null;
  organization_id: string | null;
  reason: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  request_id: string;
}

/** The organization's audit entries, oldest first, read with SQL. */
export async function auditEntries(t: TestApp, organizationId: string): Promise<AuditRow[]> {
  return t.deps.db<AuditRow[]>`
    select action, actor_id, actor_username, organization_id, reason, before, after, request_id
    from admin.audit_log
    where resource_type = 'organization' and resource_id = ${organizationId}
    order by occurred_at, id`;
}
