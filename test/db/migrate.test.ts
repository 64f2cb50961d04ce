import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MigrationChecksumError, type MigrationFile, migrate } from "../../src/core/db/migrate";
import { migrationFilesFor } from "../../src/core/db/migration-files";
import { scratchDatabase } from "../support/scratch-database";

let db: Awaited<ReturnType<typeof scratchDatabase>>;
beforeAll(async () => {
  db = await scratchDatabase();
});
afterAll(() => db.drop());

const first: MigrationFile = {
  name: "t/0001_things.sql",
  kind: "migration",
  sql: "create table things (id int primary key); insert into things values (1);",
};
const second: MigrationFile = {
  name: "t/0002_more.sql",
  kind: "migration",
  sql: "insert into things values (2);",
};

describe("migration runner", () => {
  it("applies files in order, records checksums, and prints progress", async () => {
    const progress: string[] = [];
    const report = await migrate(db.sql, [first, second], {
      role: "admin",
      onProgress: (m) => progress.push(m),
    });
    expect(report.applied).toEqual([first.name, second.name]);
    expect(progress.some((m) => m.startsWith("applied migration t/0002_more.sql"))).toBe(true);
    const rows =
      await db.sql`select name, kind, length(checksum) as len from public.neoadmin_schema_migrations order by name`;
    expect(rows).toEqual([
      { name: first.name, kind: "migration", len: 64 },
      { name: second.name, kind: "migration", len: 64 },
    ]);
  });

  it("skips what is applied", async () => {
    const report = await migrate(db.sql, [first, second], { role: "admin" });
    expect(report).toEqual({ applied: [], skipped: 2 });
  });

  it("refuses an applied migration whose file changed", async () => {
    const edited = { ...second, sql: "insert into things values (3);" };
    await expect(migrate(db.sql, [first, edited], { role: "admin" })).rejects.toThrow(
      MigrationChecksumError,
    );
    await expect(migrate(db.sql, [first, edited], { role: "admin" })).rejects.toThrow(
      /t\/0002_more.sql was changed after it was applied/,
    );
  });

  it("re-applies a changed seed (seeds are idempotent)", async () => {
    const seed: MigrationFile = {
      name: "t/seed.sql",
      kind: "seed",
      sql: "insert into things values (10) on conflict do nothing;",
    };
    await migrate(db.sql, [first, second, seed], { role: "admin" });
    const changed = { ...seed, sql: "insert into things values (11) on conflict do nothing;" };
    const report = await migrate(db.sql, [first, second, changed], { role: "admin" });
    expect(report.applied).toEqual([seed.name]);
    const ids = (await db.sql<{ id: number }[]>`select id from things order by id`).map(
      (r) => r.id,
    );
    expect(ids).toEqual([1, 2, 10, 11]);
  });

  it("rolls back a failing file whole, recording nothing", async () => {
    const broken: MigrationFile = {
      name: "t/0003_broken.sql",
      kind: "migration",
      sql: "insert into things values (4); select * from no_such_table;",
    };
    await expect(migrate(db.sql, [first, second, broken], { role: "admin" })).rejects.toThrow(
      /migration t\/0003_broken.sql failed/,
    );
    const ids = (await db.sql<{ id: number }[]>`select id from things where id = 4`).length;
    expect(ids).toBe(0);
    const recorded =
      await db.sql`select 1 from public.neoadmin_schema_migrations where name = ${broken.name}`;
    expect(recorded).toHaveLength(0);
  });

  it("lets concurrent runners apply each file once (advisory lock)", async () => {
    const third: MigrationFile = {
      name: "t/0004_concurrent.sql",
      kind: "migration",
      sql: "insert into things values (5);",
    };
    const files = [first, second, third];
    const reports = await Promise.all([
      migrate(db.sql, files, { role: "admin" }),
      migrate(db.sql, files, { role: "admin" }),
    ]);
    expect(reports.flatMap((r) => r.applied)).toEqual([third.name]);
    expect(await db.sql`select id from things where id = 5`).toHaveLength(1);
  });
});

describe("the project's migrations", () => {
  it("apply to an empty database and give a time-ordered UUID v7", async () => {
    const fresh = await scratchDatabase();
    try {
      const report = await migrate(fresh.sql, await migrationFilesFor("admin"), { role: "admin" });
      expect(report.applied[0]).toBe("common/0001_platform_common.sql");
      const [row] = await fresh.sql<{ a: string; b: string }[]>`
        select platform_common.uuid_generate_v7()::text as a, platform_common.uuid_generate_v7()::text as b`;
      expect(row?.a).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      const msNow = Date.now();
      const ms = Number.parseInt((row?.a ?? "").replace(/-/g, "").slice(0, 12), 16);
      expect(Math.abs(ms - msNow)).toBeLessThan(60_000);
      const regional = await migrationFilesFor("regional");
      expect(regional.map((f) => f.name)).toContain("common/0001_platform_common.sql");
      expect(regional.some((f) => f.kind === "seed")).toBe(false);
    } finally {
      await fresh.drop();
    }
  });
});
