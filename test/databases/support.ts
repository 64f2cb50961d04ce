import type { Sql } from "postgres";
import type { DatabaseConnection } from "../../src/features/databases/schemas";
import type { ApiClient } from "../support/api-client";
import { registerSecrets } from "../support/harness";

/** A connection name no other test or earlier run on the database uses. */
export function uniqueConnectionName(prefix = "conn"): string {
  return `${prefix}-${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

/** A password for a test connection, registered so the run fails if it reaches a log line. */
export function testPassword(): string {
  const password = `Db-${crypto.randomUUID()}`;
  registerSecrets([password]);
  return password;
}

/** Host, port and database of a `postgres://` URL, as connection fields. */
export function endpointOf(url: string) {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 5432),
    database_name: decodeURIComponent(parsed.pathname.slice(1)) || "postgres",
    username: decodeURIComponent(parsed.username) || "postgres",
  };
}

export function connectionInput(regionId: string, overrides: Record<string, unknown> = {}) {
  return {
    region_id: regionId,
    connection_name: uniqueConnectionName(),
    connection_type: "primary",
    host: "db.example.com",
    database_name: "neofast_shared",
    ssl_mode: "disable",
    ...overrides,
  };
}

export async function createConnection(
  client: Pick<ApiClient, "post">,
  regionId: string,
  overrides: Record<string, unknown> = {},
): Promise<DatabaseConnection> {
  const reply = await client.post<DatabaseConnection>(
    "/databases",
    connectionInput(regionId, overrides),
  );
  if (reply.status !== 201) {
    throw new Error(`connection not created: ${reply.status} ${JSON.stringify(reply.body)}`);
  }
  return reply.body.data;
}

/** A tenant row in the admin database (no tenants API yet), placed as told. */
export async function insertTenant(
  db: Sql,
  options: {
    regionId: string;
    connectionId?: string | null;
    schemaName?: string;
    status?: string;
  },
): Promise<{ id: string; schema_name: string }> {
  const suffix = crypto.randomUUID().replaceAll("-", "").slice(0, 10);
  const [org] = await db<{ id: string }[]>`
    insert into admin.organizations (name, slug) values ('Org', ${`org-${suffix}`}) returning id`;
  const schemaName = options.schemaName ?? `tenant_${suffix}`;
  const [tenant] = await db<{ id: string; schema_name: string }[]>`
    insert into admin.tenants (organization_id, slug, name, schema_name, region_id,
                               database_connection_id, external_auth_realm, external_user_id, status)
    values (${org?.id ?? ""}, ${`t-${suffix}`}, 'T', ${schemaName}, ${options.regionId},
            ${options.connectionId ?? null}, 'tenant-realm', 'x', ${options.status ?? "active"})
    returning id, schema_name`;
  if (!tenant) throw new Error("tenant not inserted");
  return tenant;
}
