import { createSql, type Sql } from "../../src/core/db/admin";
import { startEmbeddedPostgres } from "../../src/core/db/embedded";

/**
 * A new, empty database on a PostgreSQL server (`serverUrl` names any database the user may
 * create others from), with a name no other run uses; `drop()` removes it, connections or not.
 */
export async function serverDatabase(
  serverUrl: string,
  prefix: string,
): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = createSql(serverUrl, { max: 1 });
  try {
    await admin.unsafe(`create database ${name}`);
  } catch (error) {
    await admin.end({ timeout: 1 });
    throw error;
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      try {
        await admin.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await admin.end({ timeout: 1 });
      }
    },
  };
}

/**
 * A fresh, empty database for tests that need one of their own: a new database on the real
 * server when TEST_DATABASE_URL is set, else a new in-memory PGlite.
 */
export async function scratchDatabase(): Promise<{ url: string; sql: Sql; drop(): Promise<void> }> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (serverUrl) {
    const database = await serverDatabase(serverUrl, "neoadmin_scratch");
    const sql = createSql(database.url, { max: 4 });
    return {
      url: database.url,
      sql,
      async drop() {
        await sql.end({ timeout: 1 });
        await database.drop();
      },
    };
  }
  const embedded = await startEmbeddedPostgres({ name: "scratch" });
  const sql = createSql(embedded.url, { max: 1 });
  return {
    url: embedded.url,
    sql,
    async drop() {
      await sql.end({ timeout: 1 });
      await embedded.close();
    },
  };
}
