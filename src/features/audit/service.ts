import { z } from "@hono/zod-openapi";
import type { Sql } from "postgres";
import { cursorPage, decodeCursor } from "../../core/http/cursor";
import { type AuditPosition, type AuditRow, auditRepository } from "./repository";
import type { AuditEntry, AuditFilter, AuditListInput } from "./schemas";

export interface AuditContext {
  db: Sql;
}

const Position = z.tuple([z.iso.datetime(), z.uuid()]);
/** Rows per database round trip while exporting. */
const EXPORT_BATCH = 500;

function present(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    occurred_at: row.occurred_at.toISOString(),
    actor: { type: row.actor_type, id: row.actor_id, username: row.actor_username },
    tenant_id: row.tenant_id,
    organization_id: row.organization_id,
    action: row.action,
    resource_type: row.resource_type,
    resource_id: row.resource_id,
    before: row.before,
    after: row.after,
    reason: row.reason,
    request_id: row.request_id,
    ip: row.ip,
  };
}

const positionOf = (row: AuditRow): AuditPosition => [row.cursor_at, row.id];

export const audit = {
  async list(ctx: AuditContext, query: AuditListInput) {
    const { cursor, page_size, ...filter } = query;
    const after = cursor ? (decodeCursor(cursor, Position) as AuditPosition) : undefined;
    const rows = await auditRepository(ctx.db).page(filter, page_size + 1, after);
    return cursorPage(rows, page_size, positionOf, present);
  },

  /**
   * Every matching entry, newest first, as NDJSON lines, read in keyset batches so the export
   * holds one batch in memory whatever its size.
   */
  export(ctx: AuditContext, filter: AuditFilter): ReadableStream<Uint8Array> {
    const encoder = new TextEncoder();
    const repo = auditRepository(ctx.db);
    let after: AuditPosition | undefined;
    let done = false;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (done) return;
        const rows = await repo.page(filter, EXPORT_BATCH, after);
        if (rows.length > 0) {
          const lines = rows.map((row) => `${JSON.stringify(present(row))}\n`).join("");
          controller.enqueue(encoder.encode(lines));
          after = positionOf(rows[rows.length - 1] as AuditRow);
        }
        if (rows.length < EXPORT_BATCH) {
          done = true;
          controller.close();
        }
      },
    });
  },
};
