import { describe, expect, inject, it } from "vitest";
import { bootstrap } from "../src/bootstrap";
import { loadConfig } from "../src/config";
import { keys } from "../src/core/cache/keys";
import { createLogger } from "../src/core/log/logger";

function capture() {
  const lines: string[] = [];
  return { lines, logger: createLogger({ level: "info", sink: (l) => lines.push(l) }) };
}

describe("bootstrap (the Bun server's dependencies)", () => {
  it("uses the configured database, finds it migrated, and closes cleanly", async () => {
    const { lines, logger } = capture();
    const config = loadConfig({
      ENVIRONMENT: "test",
      ADMIN_DATABASE_URL: inject("databaseUrl"),
      // A key of its own: without one, bootstrap would keep a generated key in ./.data.
      APP_ENCRYPTION_KEY: `k1:${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`,
    });
    const runtime = await bootstrap(config, logger);
    expect(runtime.database).toBe("configured");
    const [row] = await runtime.deps.db<
      { n: number }[]
    >`select count(*)::int as n from platform_common.countries`;
    expect(row?.n).toBe(249);
    const migrated = lines
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === "admin database migrated");
    expect(migrated).toMatchObject({ applied: 0 });
    await runtime.close();
  });

  it("starts the embedded database when none is configured, migrates and seeds it", async () => {
    const { lines, logger } = capture();
    const runtime = await bootstrap(loadConfig({ ENVIRONMENT: "test" }), logger, {
      embeddedInMemory: true,
    });
    try {
      expect(runtime.database).toBe("embedded");
      const [row] = await runtime.deps.db<
        { n: number }[]
      >`select count(*)::int as n from platform_common.currencies where code = 'EUR'`;
      expect(row?.n).toBe(1);
      const messages = lines.map((l) => JSON.parse(l).msg);
      expect(messages).toContain("embedded database started");
      // Fresh seeds: whatever reference data a cache held is dropped.
      expect(messages).toContain("reference data cache cleared after seeding");
      expect(await runtime.deps.cache.get(keys.ref("currencies", "active"))).toBeNull();
      // With the two embedded regions (each a PGlite instance of its own).
      expect(messages.filter((m: string) => m === "embedded region started")).toHaveLength(2);
    } finally {
      await runtime.close();
    }
    // Three PGlite instances start here; on a loaded two-core machine that takes a while.
  }, 120_000);

  it("fails with the database's reason when it cannot connect, and leaves nothing open", async () => {
    const { logger } = capture();
    const config = loadConfig({
      ENVIRONMENT: "test",
      ADMIN_DATABASE_URL: "postgres://postgres@127.0.0.1:9/x",
    });
    await expect(bootstrap(config, logger)).rejects.toThrow();
  });
});

describe("embedded regions (no ADMIN_DATABASE_URL)", () => {
  it("registers us-east-1 and eu-west-1 with sealed passwords, keeps them and the key across restarts", async () => {
    const { mkdtemp, rm, stat } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { passwordContext } = await import("../src/core/db/regional-router");
    const dataDir = await mkdtemp(join(tmpdir(), "neoadmin-embedded-"));
    const config = loadConfig({ ENVIRONMENT: "development", DATA_DIR: dataDir });
    type Row = { id: string; code: string; gdpr_region: boolean; encrypted_password: string };
    const rowsOf = (runtime: Awaited<ReturnType<typeof bootstrap>>) =>
      runtime.deps.db<Row[]>`
        select c.id, r.code, r.gdpr_region, c.encrypted_password
        from admin.database_connections c join admin.regions r on r.id = c.region_id
        order by r.code`;
    try {
      const first = await bootstrap(config, capture().logger);
      let firstRows: Row[];
      try {
        firstRows = [...(await rowsOf(first))];
        expect(firstRows.map((r) => [r.code, r.gdpr_region])).toEqual([
          ["eu-west-1", true],
          ["us-east-1", false],
        ]);
        for (const row of firstRows) {
          expect(row.encrypted_password).toMatch(/^v1:local:/);
          await first.deps.secretBox?.open(row.encrypted_password, passwordContext(row.id));
          const sql = await first.deps.regional.clientForConnection(row.id);
          const [ok] = await sql<{ n: number }[]>`select count(*)::int as n
            from public.neoadmin_schema_migrations`;
          expect(ok?.n).toBeGreaterThan(0);
        }
      } finally {
        await first.close();
      }
      expect((await stat(join(dataDir, "encryption-key"))).mode & 0o777).toBe(0o600);

      // A restart: same rows (nothing duplicated), the same key opens them, new ports work.
      const second = await bootstrap(config, capture().logger);
      try {
        const rows = await rowsOf(second);
        expect(rows.map((r) => [r.id, r.encrypted_password])).toEqual(
          firstRows.map((r) => [r.id, r.encrypted_password]),
        );
        for (const row of rows) {
          await second.deps.secretBox?.open(row.encrypted_password, passwordContext(row.id));
          const sql = await second.deps.regional.clientForConnection(row.id);
          expect(await sql`select 1`).toHaveLength(1);
        }
      } finally {
        await second.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
