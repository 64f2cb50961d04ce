import type { ISql, PendingQuery, Row } from "postgres";
import { allOf } from "../../core/db/sql-fragments";
import type { AuditEntry, AuditFilter } from "./schemas";

export interface AuditRow extends Omit<AuditEntry, "actor" | "occurred_at"> {
  occurred_at: Date;
  actor_type: AuditEntry["actor"]["type"];
  actor_id: string | null;
  actor_username: string | null;
  /** occurred_at to the microsecond, as text: a JS Date would round it to milliseconds. */
  cursor_at: string;
}

/** Where to resume: the (occurred_at, id) of the last row of the previous page. */
export type AuditPosition = readonly [at: string, id: string];

export function auditRepository(sql: ISql) {
  return {
    /** Newest first; `limit` rows after `after` (exclusive). */
    async page(filter: AuditFilter, limit: number, after?: AuditPosition): Promise<AuditRow[]> {
      const where: PendingQuery<Row[]>[] = [];
      if (filter.actor_id) where.push(sql`actor_id = ${filter.actor_id}`);
      if (filter.tenant_id) where.push(sql`tenant_id = ${filter.tenant_id}`);
      if (filter.organization_id) where.push(sql`organization_id = ${filter.organization_id}`);
      if (filter.resource_type) where.push(sql`resource_type = ${filter.resource_type}`);
      if (filter.resource_id) where.push(sql`resource_id = ${filter.resource_id}`);
      if (filter.action) where.push(sql`action = ${filter.action}`);
      if (filter.from) where.push(sql`occurred_at >= ${filter.from}::timestamptz`);
      if (filter.to) where.push(sql`occurred_at < ${filter.to}::timestamptz`);
      if (after) where.push(sql`(occurred_at, id) < (${after[0]}::timestamptz, ${after[1]}::uuid)`);
      const rows = await sql<AuditRow[]>`
        select id, occurred_at, actor_type, actor_id, actor_username, tenant_id, organization_id,
               action, resource_type, resource_id, before, after, reason, request_id,
               host(ip) as ip,
               to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_at
        from admin.audit_log
        where ${allOf(sql, where)}
        order by occurred_at desc, id desc
        limit ${limit}`;
      return [...rows];
    },
  };
}
