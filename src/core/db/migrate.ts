import type { Sql } from "postgres";
import { sha256Hex } from "../crypto/hash";

/** One SQL file to apply. Seeds are idempotent and re-applied when their text changes. */
export interface MigrationFile {
  name: string;
  sql: string;
  kind: "migration" | "seed";
}

export interface MigrationReport {
  applied: string[];
  skipped: number;
}

export class MigrationChecksumError extends Error {
  constructor(name: string, recorded: string, current: string) {
    super(
      `migration ${name} was changed after it was applied (recorded checksum ${recorded.slice(0, 12)}…, ` +
        `file now ${current.slice(0, 12)}…). Applied migrations are immutable: add a new migration instead.`,
    );
    this.name = "MigrationChecksumError";
  }
}

/** Arbitrary but fixed: every runner of every instance contends for the same lock per role. */
const LOCK_KEYS = { admin: 720_401, regional: 720_402 } as const;

/**
 * Applies pending files in order under a session advisory lock, each in its own transaction with
 * its checksum recorded, so concurrent starts apply each file once and a crash leaves no file
 * half-applied. A changed, already-applied migration is an error; a changed seed is re-applied.
 */
export async function migrate(
  sql: Sql,
  files: MigrationFile[],
  options: { role: keyof typeof LOCK_KEYS; onProgress?: (message: string) => void },
): Promise<MigrationReport> {
  const progress = options.onProgress ?? (() => {});
  const conn = await sql.reserve();
  try {
    await conn`select pg_advisory_lock(${LOCK_KEYS[options.role]})`;
    try {
      await conn.unsafe(`
        create table if not exists public.neoadmin_schema_migrations (
          name text primary key,
          kind text not null check (kind in ('migration', 'seed')),
          checksum text not null,
          applied_at timestamptz not null default now(),
          duration_ms integer not null
        )`);
      const rows = await conn<{ name: string; checksum: string }[]>`
        select name, checksum from public.neoadmin_schema_migrations`;
      const recorded = new Map(rows.map((r) => [r.name, r.checksum]));
      const report: MigrationReport = { applied: [], skipped: 0 };
      for (const file of files) {
        const checksum = await sha256Hex(file.sql);
        const previous = recorded.get(file.name);
        if (previous === checksum) {
          report.skipped += 1;
          continue;
        }
        if (previous !== undefined && file.kind === "migration") {
          throw new MigrationChecksumError(file.name, previous, checksum);
        }
        const started = performance.now();
        progress(`applying ${file.kind} ${file.name}`);
        await conn.unsafe("begin");
        try {
          await conn.unsafe(file.sql).simple();
          const duration = Math.round(performance.now() - started);
          await conn`
            insert into public.neoadmin_schema_migrations (name, kind, checksum, duration_ms)
            values (${file.name}, ${file.kind}, ${checksum}, ${duration})
            on conflict (name) do update
              set checksum = excluded.checksum, applied_at = now(), duration_ms = excluded.duration_ms`;
          await conn.unsafe("commit");
          progress(`applied ${file.kind} ${file.name} in ${duration} ms`);
        } catch (error) {
          await conn.unsafe("rollback");
          throw new Error(`${file.kind} ${file.name} failed: ${(error as Error).message}`, {
            cause: error,
          });
        }
        report.applied.push(file.name);
      }
      return report;
    } finally {
      await conn`select pg_advisory_unlock(${LOCK_KEYS[options.role]})`;
    }
  } finally {
    conn.release();
  }
}
