import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { keys } from "../../src/core/cache/keys";
import { createUpstashRedis, UpstashCache } from "../../src/core/cache/upstash";
import { createSql } from "../../src/core/db/admin";
import { startEmbeddedPostgres } from "../../src/core/db/embedded";
import { migrate } from "../../src/core/db/migrate";
import { migrationFilesFor } from "../../src/core/db/migration-files";
import { startUpstashProxy } from "./upstash-proxy";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    databaseMode: "embedded" | "postgres";
    upstash: { url: string; token: string } | null;
    /** Where every test app writes its log lines and secrets, checked when the run ends. */
    logDir: string;
  }
}

/**
 * One database for the run, migrated and seeded once: a fresh database on the real PostgreSQL
 * when TEST_DATABASE_URL is set (dropped afterwards), else an in-memory embedded PGlite. With
 * TEST_REDIS_URL the Upstash adapter is used, through our REST proxy to the real Redis.
 */
export default async function setup(project: TestProject) {
  const cleanups: (() => Promise<void>)[] = [];
  let databaseUrl: string;
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (serverUrl) {
    const name = `neoadmin_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
    const admin = createSql(serverUrl, { max: 1 });
    await admin.unsafe(`create database ${name}`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
    cleanups.push(async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    });
  } else {
    const embedded = await startEmbeddedPostgres({ name: "test" });
    databaseUrl = embedded.url;
    cleanups.push(() => embedded.close());
  }
  const sql = createSql(databaseUrl, { max: 1 });
  await migrate(sql, await migrationFilesFor("admin"), { role: "admin" });
  await sql.end();

  let upstash: { url: string; token: string } | null = null;
  if (process.env.TEST_REDIS_URL) {
    const proxy = await startUpstashProxy({
      redisUrl: process.env.TEST_REDIS_URL,
      token: "test-token",
    });
    upstash = { url: proxy.url, token: proxy.token };
    // Reference data cached by an earlier run (maybe of older seeds) must not answer this one.
    await new UpstashCache(createUpstashRedis(upstash)).deleteByPrefix(keys.ref());
    cleanups.unshift(() => proxy.close());
  }

  project.provide("databaseUrl", databaseUrl);
  project.provide("databaseMode", serverUrl ? "postgres" : "embedded");
  project.provide("upstash", upstash);
  const logDir = await mkdtemp(join(tmpdir(), "neoadmin-test-logs-"));
  project.provide("logDir", logDir);

  return async () => {
    for (const cleanup of cleanups) await cleanup();
    const leaks = await findSecretsInLogs(logDir);
    await rm(logDir, { recursive: true, force: true });
    if (leaks.length > 0) {
      // A teardown error alone does not fail a vitest run: set the exit code too.
      process.exitCode = 1;
      throw new Error(`Secrets reached the logs of this test run: ${leaks.join("; ")}`);
    }
  };
}

/** Shapes of secrets that must never be in a log line, whatever the test did. */
const SECRET_SHAPES: [string, RegExp][] = [
  ["a JWT (access, ID or refresh token)", /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\./],
  ["a guest session token", /guest_[0-9a-f]{32}:[A-Za-z0-9_-]{43}/],
];

/**
 * The whole run's captured logs against the secret shapes and the exact secrets the test apps
 * registered (passwords, client secrets). Reports kinds and files, never the values.
 */
async function findSecretsInLogs(dir: string): Promise<string[]> {
  const files = await readdir(dir).catch(() => [] as string[]);
  const secrets = new Set<string>();
  for (const file of files.filter((f) => f.endsWith(".secrets"))) {
    for (const line of (await readFile(join(dir, file), "utf8")).split("\n")) {
      if (line.length >= 8) secrets.add(line);
    }
  }
  const leaks: string[] = [];
  for (const file of files.filter((f) => f.endsWith(".log"))) {
    const text = await readFile(join(dir, file), "utf8");
    for (const [kind, shape] of SECRET_SHAPES)
      if (shape.test(text)) leaks.push(`${kind} in ${file}`);
    let exact = 0;
    for (const secret of secrets) if (text.includes(secret)) exact += 1;
    if (exact > 0) leaks.push(`${exact} registered secret(s) in ${file}`);
  }
  return leaks;
}
