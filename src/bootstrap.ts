import type { Config } from "./config";
import { keys } from "./core/cache/keys";
import { type EncryptionKey, generateEncryptionKey } from "./core/crypto/secret-box";
import { createSql, type Sql } from "./core/db/admin";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "./core/db/embedded";
import { socketPolicy } from "./core/db/guarded-socket";
import { migrate } from "./core/db/migrate";
import { migrationFilesFor } from "./core/db/migration-files";
import { createRegionalRouter, pooledClients } from "./core/db/regional-router";
import type { Deps } from "./core/deps";
import type { Logger } from "./core/log/logger";
import { createSharedDeps, type IdentitySource } from "./core/shared-deps";
import { type EmbeddedRegions, startEmbeddedRegions } from "./dev/embedded-regions";
import { localEncryptionKeys } from "./dev/local-encryption-key";

export interface Runtime {
  deps: Deps;
  /** Where the admin database is: the configured URL's host, or "embedded". */
  database: "configured" | "embedded";
  close(): Promise<void>;
}

/**
 * The key ring when APP_ENCRYPTION_KEY is unset: in development and test a generated key kept
 * under DATA_DIR (in memory for in-memory runs); elsewhere none (routes needing it answer 503).
 */
async function fallbackKeys(
  config: Config,
  inMemory: boolean,
): Promise<EncryptionKey[] | undefined> {
  if (config.encryptionKeys) return undefined;
  if (config.environment !== "development" && config.environment !== "test") return undefined;
  return inMemory ? [generateEncryptionKey("local")] : localEncryptionKeys(config.dataDir);
}

/**
 * Builds the process-wide dependencies for Bun (and the Node test harness): the admin pool,
 * or the embedded PGlite when no database is configured, migrated and seeded before serving,
 * with the two embedded regions; and the regional router over them.
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
  const encryptionKeys = await fallbackKeys(config, Boolean(options.embeddedInMemory));
  const shared = createSharedDeps(config, logger, {
    ...(options.identity ? { identity: options.identity } : {}),
    ...(encryptionKeys ? { encryptionKeys } : {}),
  });
  let regions: EmbeddedRegions | undefined;
  if (embedded) {
    try {
      regions = await startEmbeddedRegions({
        admin: db,
        secretBox: shared.secretBox,
        ...(options.embeddedInMemory ? {} : { dataDir: config.dataDir }),
        logger,
      });
    } catch (error) {
      await db.end({ timeout: 1 });
      await embedded.close();
      throw error;
    }
  }
  const regional = createRegionalRouter({
    admin: db,
    source: pooledClients({
      ...(shared.secretBox ? { secretBox: shared.secretBox } : {}),
      socketFor: socketPolicy(config.allowPrivateDatabaseHosts, regions?.endpoints),
    }),
  });
  if (seedsChanged) {
    // Cached reference data would otherwise serve the old rows for up to a day.
    const removed = await shared.cache.deleteByPrefix(keys.ref()).catch(() => 0);
    logger.info("reference data cache cleared after seeding", { removed });
  }
  return {
    deps: { ...shared, db, regional, waitUntil: (promise) => void promise.catch(() => {}) },
    database: embedded ? "embedded" : "configured",
    async close() {
      await regional.close();
      await db.end({ timeout: 5 });
      await regions?.close();
      await embedded?.close();
    },
  };
}
