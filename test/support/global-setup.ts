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

  return async () => {
    for (const cleanup of cleanups) await cleanup();
  };
}
