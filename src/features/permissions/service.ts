import type { ISql, Sql } from "postgres";
import { type AuditContext, recordAudit } from "../../core/audit/audit-log";
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
 *
 * A sync that changes the registry does it in one transaction with its audit entry
 * (`permissions.sync`, by `audit`'s actor: the signed-in user, or the system at start); a dry
 * run, or a sync with nothing to change, writes nothing.
 */
export async function syncPermissions(
  sql: Sql,
  document: { paths?: Record<string, unknown> },
  options: { dryRun: boolean; forceUpdate: boolean; audit: AuditContext },
): Promise<SyncReport> {
  const declared = declaredPermissions(document);
  const plan = async (db: ISql) => {
    const existing = new Map(
      (await permissionsRepository(db).existing(declared.map((d) => d.code))).map((r) => [
        r.code,
        r,
      ]),
    );
    const created: string[] = [];
    const updated: string[] = [];
    for (const d of declared) {
      const row = existing.get(d.code);
      if (!row) created.push(d.code);
      else if (options.forceUpdate && (row.deleted_at || (d.dangerous && !row.is_dangerous)))
        updated.push(d.code);
    }
    return { created, updated };
  };
  const report = ({ created, updated }: { created: string[]; updated: string[] }) => ({
    declared: declared.length,
    created,
    updated,
    unchanged: declared.length - created.length - updated.length,
    dry_run: options.dryRun,
  });
  if (options.dryRun) return report(await plan(sql));
  return sql.begin(async (tx) => {
    // Planned inside the transaction, under a lock: two syncs at once (replicas starting
    // together) each report and audit only what they changed.
    await tx`select pg_advisory_xact_lock(hashtext('admin.platform_permissions sync'))`;
    const changes = await plan(tx);
    if (changes.created.length > 0 || changes.updated.length > 0) {
      await permissionsRepository(tx).upsertDeclared(declared, options.forceUpdate);
      await recordAudit(tx, options.audit, {
        action: "permissions.sync",
        resourceType: "permission",
        resourceId: null,
        after: { ...changes, force_update: options.forceUpdate },
      });
    }
    return report(changes);
  });
}
