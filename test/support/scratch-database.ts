import { createSql, type Sql } from "../../src/core/db/admin";
import { startEmbeddedPostgres } from "../../src/core/db/embedded";

/**
 * A fresh, empty database for tests that need one of their own: a new database on the real
 * server when TEST_DATABASE_URL is set, else a new in-memory PGlite.
 */
export async function scratchDatabase(): Promise<{ url: string; sql: Sql; drop(): Promise<void> }> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (serverUrl) {
    const name = `neoadmin_scratch_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
    const admin = createSql(serverUrl, { max: 1 });
    await admin.unsafe(`create database ${name}`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    const sql = createSql(url.toString(), { max: 4 });
    return {
      url: url.toString(),
      sql,
      async drop() {
        await sql.end({ timeout: 1 });
        await admin.unsafe(`drop database if exists ${name} with (force)`);
        await admin.end();
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
