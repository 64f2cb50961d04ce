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
    const config = loadConfig({ ENVIRONMENT: "test", ADMIN_DATABASE_URL: inject("databaseUrl") });
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
    } finally {
      await runtime.close();
    }
  });

  it("fails with the database's reason when it cannot connect, and leaves nothing open", async () => {
    const { logger } = capture();
    const config = loadConfig({
      ENVIRONMENT: "test",
      ADMIN_DATABASE_URL: "postgres://postgres@127.0.0.1:9/x",
    });
    await expect(bootstrap(config, logger)).rejects.toThrow();
  });
});
