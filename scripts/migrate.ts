/**
 * `npm run migrate`: applies the admin migrations and seeds to ADMIN_DATABASE_URL (or to the
 * embedded database under DATA_DIR when unset), printing progress.
 * `npm run migrate -- --regional postgres://…` migrates a regional database instead.
 * The server applies the same migrations at start; this is for deploys that migrate first.
 */
import { ConfigError, loadConfig } from "../src/config";
import { createSql } from "../src/core/db/admin";
import { startEmbeddedPostgres } from "../src/core/db/embedded";
import { migrate } from "../src/core/db/migrate";
import { migrationFilesFor } from "../src/core/db/migration-files";

async function main() {
  const args = process.argv.slice(2);
  const regionalIndex = args.indexOf("--regional");
  const regionalUrl = regionalIndex >= 0 ? args[regionalIndex + 1] : undefined;
  if (regionalIndex >= 0 && !regionalUrl) throw new Error("--regional needs a postgres:// URL");

  const config = loadConfig(process.env);
  const role = regionalUrl ? "regional" : "admin";
  const embedded =
    !regionalUrl && !config.adminDatabaseUrl
      ? await startEmbeddedPostgres({ name: "admin", dataDir: config.dataDir })
      : undefined;
  const url = regionalUrl ?? config.adminDatabaseUrl ?? embedded?.url;
  if (!url) throw new Error("no database to migrate");
  const where = embedded ? `embedded database in ${config.dataDir}` : new URL(url).host;
  console.log(`migrating the ${role} database (${where})`);

  const sql = createSql(url, { max: 1, applicationName: "neoadmin-migrate" });
  try {
    const files = await migrationFilesFor(role);
    const report = await migrate(sql, files, { role, onProgress: (m) => console.log(`  ${m}`) });
    console.log(`done: ${report.applied.length} applied, ${report.skipped} already up to date`);
  } finally {
    await sql.end({ timeout: 5 });
    await embedded?.close();
  }
}

main().catch((error: unknown) => {
  console.error(
    error instanceof ConfigError ? error.message : `migration failed: ${(error as Error).message}`,
  );
  process.exit(1);
});
