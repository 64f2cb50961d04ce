import type { Sql } from "postgres";
import { type DeclaredPermission, PERMISSION_EXTENSION } from "../../core/auth/protected-route";
import { type DeclaredCode, permissionsRepository } from "./repository";

type Operation = { [PERMISSION_EXTENSION]?: DeclaredPermission };

/** The permissions the routes declare, read from the OpenAPI document (the one declaration). */
export function declaredPermissions(document: { paths?: Record<string, unknown> }): DeclaredCode[] {
  const byCode = new Map<string, boolean>();
  for (const item of Object.values(document.paths ?? {})) {
    for (const operation of Object.values((item ?? {}) as Record<string, Operation>)) {
      const declared = operation?.[PERMISSION_EXTENSION];
      if (declared?.code)
        byCode.set(declared.code, (byCode.get(declared.code) ?? false) || declared.dangerous);
    }
  }
  return [...byCode]
    .map(([code, dangerous]) => ({ code, dangerous }))
    .sort((a, b) => a.code.localeCompare(b.code));
}

export interface SyncReport {
  declared: number;
  created: string[];
  updated: string[];
  unchanged: number;
  dry_run: boolean;
}

/**
 * Makes `platform_permissions` hold every permission a route declares (run at start, and on
 * demand through POST /permissions/sync). Only adds, and raises the dangerous flag; it never
 * removes a permission: grants of a code whose route went away stay visible and revocable.
 */
export async function syncPermissions(
  sql: Sql,
  document: { paths?: Record<string, unknown> },
  options: { dryRun: boolean; forceUpdate: boolean },
): Promise<SyncReport> {
  const declared = declaredPermissions(document);
  const repo = permissionsRepository(sql);
  const existing = new Map(
    (await repo.existing(declared.map((d) => d.code))).map((r) => [r.code, r]),
  );
  const created: string[] = [];
  const updated: string[] = [];
  for (const d of declared) {
    const row = existing.get(d.code);
    if (!row) created.push(d.code);
    else if (options.forceUpdate && (row.deleted_at || (d.dangerous && !row.is_dangerous)))
      updated.push(d.code);
  }
  if (!options.dryRun) await repo.upsertDeclared(declared, options.forceUpdate);
  return {
    declared: declared.length,
    created,
    updated,
    unchanged: declared.length - created.length - updated.length,
    dry_run: options.dryRun,
  };
}
