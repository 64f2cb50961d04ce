import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { MigrationFile } from "./migrate";

/** The project's `db/` folder, found relative to this file so any working directory works. */
export const DB_DIR = join(
  import.meta.dirname ?? new URL(".", import.meta.url).pathname,
  "../../../db",
);

async function sqlFiles(
  dir: string,
  kind: MigrationFile["kind"],
  prefix: string,
): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith(".sql")).sort();
  return Promise.all(
    names.map(async (name) => ({
      name: `${prefix}${name}`,
      kind,
      sql: await readFile(join(dir, name), "utf8"),
    })),
  );
}

/** Seed folders of the admin database, in the order they are applied. */
const ADMIN_SEED_FOLDERS = ["reference", "identity", "billing"];

/**
 * Files for a database role, in order: the shared `common` migrations (platform_common), the
 * role's own, then (admin only) the seeds. Names carry their folder so they never collide.
 */
export async function migrationFilesFor(role: "admin" | "regional"): Promise<MigrationFile[]> {
  const common = await sqlFiles(join(DB_DIR, "migrations/common"), "migration", "common/");
  const own = await sqlFiles(join(DB_DIR, `migrations/${role}`), "migration", `${role}/`);
  const seeds: MigrationFile[] = [];
  if (role === "admin") {
    for (const folder of ADMIN_SEED_FOLDERS) {
      seeds.push(...(await sqlFiles(join(DB_DIR, "seed", folder), "seed", `seed/${folder}/`)));
    }
  }
  return [...common, ...own, ...seeds];
}
