import type { Config } from "./config";
import { keys } from "./core/cache/keys";
import { createSql, type Sql } from "./core/db/admin";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "./core/db/embedded";
import { migrate } from "./core/db/migrate";
import { migrationFilesFor } from "./core/db/migration-files";
import type { Deps } from "./core/deps";
import type { Logger } from "./core/log/logger";
import { createSharedDeps, type IdentitySource } from "./core/shared-deps";

export interface Runtime {
  deps: Deps;
  /** Where the admin database is: the configured URL's host, or "embedded". */
  database: "configured" | "embedded";
  close(): Promise<void>;
}

/**
 * Builds the process-wide dependencies for Bun (and the Node test harness): the admin pool,
 * or the embedded PGlite when no database is configured, migrated and seeded before serving.
 */
export async function bootstrap(
  config: Config,
  logger: Logger,
  options: { embeddedInMemory?: boolean; identity?: IdentitySource } = {},
): Promise<Runtime> {
  let embedded: EmbeddedPostgres | undefined;
  let db: Sql;
  if (config.adminDatabaseUrl) {
    db = createSql(config.adminDatabaseUrl, { max: config.adminDatabasePoolMax });
  } else {
    embedded = await startEmbeddedPostgres({
      name: "admin",
      ...(options.embeddedInMemory ? {} : { dataDir: config.dataDir }),
    });
    // PGlite is a single serialised session: more than one client connection only queues.
    db = createSql(embedded.url, { max: 1 });
    logger.info("embedded database started", {
      data_dir: options.embeddedInMemory ? "memory" : config.dataDir,
    });
  }
  let seedsChanged = false;
  try {
    const files = await migrationFilesFor("admin");
    const report = await migrate(db, files, {
      role: "admin",
      onProgress: (message) => logger.info(message),
    });
    const seeds = new Set(files.filter((f) => f.kind === "seed").map((f) => f.name));
    seedsChanged = report.applied.some((name) => seeds.has(name));
    logger.info("admin database migrated", {
      applied: report.applied.length,
      up_to_date: report.skipped,
    });
  } catch (error) {
    await db.end({ timeout: 1 });
    await embedded?.close();
    throw error;
  }
  const shared = createSharedDeps(
    config,
    logger,
    options.identity ? { identity: options.identity } : {},
  );
  if (seedsChanged) {
    // Cached reference data would otherwise serve the old rows for up to a day.
    const removed = await shared.cache.deleteByPrefix(keys.ref()).catch(() => 0);
    logger.info("reference data cache cleared after seeding", { removed });
  }
  return {
    deps: { ...shared, db, waitUntil: (promise) => void promise.catch(() => {}) },
    database: embedded ? "embedded" : "configured",
    async close() {
      await db.end({ timeout: 5 });
      await embedded?.close();
    },
  };
}
