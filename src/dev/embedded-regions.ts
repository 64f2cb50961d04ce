import type { Sql } from "postgres";
import { type AuditContext, recordAudit } from "../core/audit/audit-log";
import type { SecretBox } from "../core/crypto/secret-box";
import { createSql } from "../core/db/admin";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "../core/db/embedded";
import { migrate } from "../core/db/migrate";
import { migrationFilesFor } from "../core/db/migration-files";
import { passwordContext } from "../core/db/regional-router";
import type { Logger } from "../core/log/logger";

/**
 * The embedded default's regions (DOMAIN.md, "Seed data of the original"): `us-east-1` and
 * `eu-west-1`, each with a primary connection to a PGlite instance of its own under DATA_DIR,
 * served on a loopback port by pglite-socket like the admin database. Registered idempotently
 * at every start: rows that exist are kept, only the embedded connections' port (new at each
 * start) is brought up to date. Only when no ADMIN_DATABASE_URL is configured.
 */
export const EMBEDDED_REGIONS = [
  {
    code: "us-east-1",
    name: "US East (Virginia)",
    display_name: "United States — Virginia",
    country_code: "US",
    continent: "North America",
    city: null,
    timezone: "America/New_York",
    gdpr_region: false,
    connection_name: "neofast-shared-us-primary",
  },
  {
    code: "eu-west-1",
    name: "EU West (Dublin)",
    display_name: "Europe — Ireland",
    country_code: "IE",
    continent: "Europe",
    city: "Dublin",
    timezone: "Europe/Dublin",
    gdpr_region: true,
    connection_name: "neofast-shared-eu-primary",
  },
] as const;

const SYSTEM: AuditContext = {
  actor: { type: "system", id: null, username: null },
  requestId: "bootstrap",
  ip: null,
  reason: "embedded default regions",
};

export interface EmbeddedRegions {
  /** `host:port` of each embedded database: reached whatever ALLOW_PRIVATE_DATABASE_HOSTS says. */
  endpoints: Set<string>;
  close(): Promise<void>;
}

function randomPassword(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(24))));
}

async function register(
  admin: Sql,
  region: (typeof EMBEDDED_REGIONS)[number],
  address: { host: string; port: number },
  secretBox: SecretBox | undefined,
  logger: Logger,
): Promise<void> {
  await admin.begin(async (tx) => {
    const [inserted] = await tx<{ id: string }[]>`
      insert into admin.regions (code, name, display_name, country_code, continent, city, timezone,
                                 gdpr_region, provider, primary_endpoint)
      values (${region.code}, ${region.name}, ${region.display_name}, ${region.country_code},
              ${region.continent}, ${region.city}, ${region.timezone}, ${region.gdpr_region},
              'Embedded', ${`pglite://${region.code}`})
      on conflict (code) do nothing
      returning id`;
    if (inserted) {
      await recordAudit(tx, SYSTEM, {
        action: "regions.create",
        resourceType: "region",
        resourceId: inserted.id,
        after: { code: region.code },
      });
    }
    const [{ id: regionId } = { id: "" }] = await tx<{ id: string }[]>`
      select id from admin.regions where code = ${region.code}`;
    const [existing] = await tx<{ id: string; embedded: boolean; host: string; port: number }[]>`
      select id, coalesce(metadata->>'embedded' = 'true', false) as embedded, host, port
      from admin.database_connections where connection_name = ${region.connection_name}
      for update`;
    if (!existing) {
      const [{ id } = { id: "" }] = await tx<{ id: string }[]>`
        select platform_common.uuid_generate_v7() as id`;
      // PGlite does not check passwords; the row still carries one, sealed like any other.
      const sealed = secretBox ? await secretBox.seal(randomPassword(), passwordContext(id)) : null;
      await tx`
        insert into admin.database_connections
          (id, region_id, connection_name, connection_type, host, port, database_name, ssl_mode,
           username, encrypted_password, pool_min_size, pool_max_size, is_healthy,
           last_health_check, metadata, tags)
        values (${id}, ${regionId}, ${region.connection_name}, 'primary', ${address.host},
                ${address.port}, 'postgres', 'disable', 'postgres', ${sealed}, 0, 1, true, now(),
                ${tx.json({ embedded: true })}, ${["embedded"]})`;
      await recordAudit(tx, SYSTEM, {
        action: "databases.create",
        resourceType: "database_connection",
        resourceId: id,
        after: { connection_name: region.connection_name, region_id: regionId },
      });
    } else if (!existing.embedded) {
      logger.warn("an operator's connection has the embedded region's name: left as it is", {
        connection_name: region.connection_name,
      });
    } else if (existing.host !== address.host || existing.port !== address.port) {
      await tx`
        update admin.database_connections
        set host = ${address.host}, port = ${address.port}, is_healthy = true,
            consecutive_failures = 0, last_health_check = now()
        where id = ${existing.id}`;
    }
  });
}

/** Starts and registers the embedded regional databases (migrated like any regional one). */
export async function startEmbeddedRegions(options: {
  admin: Sql;
  secretBox: SecretBox | undefined;
  /** Undefined keeps them in memory (tests). */
  dataDir?: string;
  logger: Logger;
}): Promise<EmbeddedRegions> {
  const started: EmbeddedPostgres[] = [];
  const endpoints = new Set<string>();
  const close = async () => {
    for (const db of started) await db.close();
  };
  try {
    const files = await migrationFilesFor("regional");
    for (const region of EMBEDDED_REGIONS) {
      const db = await startEmbeddedPostgres({
        name: `region-${region.code}`,
        ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      });
      started.push(db);
      const sql = createSql(db.url, { max: 1 });
      try {
        await migrate(sql, files, { role: "regional" });
      } finally {
        await sql.end({ timeout: 1 });
      }
      const url = new URL(db.url);
      const address = { host: url.hostname, port: Number(url.port) };
      endpoints.add(`${address.host}:${address.port}`);
      await register(options.admin, region, address, options.secretBox, options.logger);
      options.logger.info("embedded region started", {
        region: region.code,
        connection: region.connection_name,
      });
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { endpoints, close };
}
