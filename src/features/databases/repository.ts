import type { ISql, PendingQuery, Row } from "postgres";
import type { ConnectionSettings } from "../../core/db/regional-router";
import { allOf, likeTerm } from "../../core/db/sql-fragments";
import type { ConnectionSort, DatabaseConnection, HealthSummary } from "./schemas";

export interface ConnectionFilter {
  region_id?: string;
  connection_type?: DatabaseConnection["connection_type"];
  is_active?: boolean;
  is_healthy?: boolean;
  search?: string;
}

/**
 * A connection row as the API reads it. `encrypted_password` is not among the columns: reads
 * only learn whether there is one (`has_password`). Only {@link connectionsRepository}'s
 * `settingsFor` reads the ciphertext, for the router and the health check.
 */
export type ConnectionRow = Omit<
  DatabaseConnection,
  "created_at" | "updated_at" | "last_health_check" | "health_status"
> & {
  last_health_check: Date | null;
  created_at: Date;
  updated_at: Date;
};

/** Settings to probe with, plus what a health result reports. */
export type ProbeTarget = ConnectionSettings & {
  connection_name: string;
  is_healthy: boolean;
  consecutive_failures: number;
  last_health_check: Date | null;
};

export function healthStatusOf(row: {
  is_healthy: boolean;
  consecutive_failures: number;
  last_health_check: Date | string | null;
}): DatabaseConnection["health_status"] {
  if (row.is_healthy) return row.consecutive_failures === 0 ? "healthy" : "degraded";
  return row.last_health_check ? "unhealthy" : null;
}

/** The API's shape of a row, field by field (a row never reaches a response as it is). */
export function presentConnection(row: ConnectionRow): DatabaseConnection {
  return {
    id: row.id,
    region_id: row.region_id,
    connection_name: row.connection_name,
    connection_type: row.connection_type,
    host: row.host,
    port: row.port,
    database_name: row.database_name,
    ssl_mode: row.ssl_mode,
    username: row.username,
    has_password: row.has_password,
    hyperdrive_binding: row.hyperdrive_binding,
    pool_min_size: row.pool_min_size,
    pool_max_size: row.pool_max_size,
    pool_timeout_seconds: row.pool_timeout_seconds,
    pool_recycle_seconds: row.pool_recycle_seconds,
    pool_pre_ping: row.pool_pre_ping,
    is_active: row.is_active,
    is_healthy: row.is_healthy,
    health_status: healthStatusOf(row),
    last_health_check: row.last_health_check?.toISOString() ?? null,
    consecutive_failures: row.consecutive_failures,
    max_consecutive_failures: row.max_consecutive_failures,
    metadata: row.metadata,
    tags: row.tags,
    version: row.version,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

function columns(sql: ISql) {
  return sql`
    c.id, c.region_id, c.connection_name, c.connection_type, c.host, c.port, c.database_name,
    c.ssl_mode, c.username, c.encrypted_password is not null as has_password,
    c.hyperdrive_binding, c.pool_min_size, c.pool_max_size, c.pool_timeout_seconds,
    c.pool_recycle_seconds, c.pool_pre_ping, c.is_active, c.is_healthy, c.last_health_check,
    c.consecutive_failures, c.max_consecutive_failures, c.metadata, c.tags, c.version,
    c.created_at, c.updated_at`;
}

/** The health summary's aggregates over `c` (active connections partition into the four). */
function summaryColumns(sql: ISql) {
  return sql`
    count(*)::int as total,
    count(*) filter (where c.is_active)::int as active,
    count(*) filter (where not c.is_active)::int as inactive,
    count(*) filter (where c.is_active and c.is_healthy and c.consecutive_failures = 0)::int as healthy,
    count(*) filter (where c.is_active and c.is_healthy and c.consecutive_failures > 0)::int as degraded,
    count(*) filter (where c.is_active and not c.is_healthy and c.last_health_check is not null)::int as unhealthy,
    count(*) filter (where c.is_active and not c.is_healthy and c.last_health_check is null)::int as never_checked,
    max(c.last_health_check) as last_health_check`;
}

type SummaryRow = Omit<HealthSummary, "last_health_check"> & { last_health_check: Date | null };

function presentSummary(row: SummaryRow | undefined): HealthSummary {
  return {
    total: row?.total ?? 0,
    active: row?.active ?? 0,
    inactive: row?.inactive ?? 0,
    healthy: row?.healthy ?? 0,
    degraded: row?.degraded ?? 0,
    unhealthy: row?.unhealthy ?? 0,
    never_checked: row?.never_checked ?? 0,
    last_health_check: row?.last_health_check?.toISOString() ?? null,
  };
}

function orderBy(sql: ISql, sort: ConnectionSort, order: "asc" | "desc"): PendingQuery<Row[]> {
  const direction = order === "asc" ? sql`asc` : sql`desc`;
  const column = {
    connection_name: sql`c.connection_name`,
    created_at: sql`c.created_at`,
    last_health_check: sql`c.last_health_check`,
    consecutive_failures: sql`c.consecutive_failures`,
  }[sort];
  // Names are unique: they break ties, so pages never overlap.
  return sql`${column} ${direction} nulls last, c.connection_name asc`;
}

/** Connection SQL. Deleted connections are invisible here except to `settingsFor`'s callers. */
export function connectionsRepository(sql: ISql) {
  const select = sql`select ${columns(sql)} from admin.database_connections c`;
  const live = sql`c.deleted_at is null`;
  /** Unarchived, undeleted tenants: the ones a connection change must not strand. */
  const liveTenant = sql`deleted_at is null and status not in ('archived', 'deleted')`;

  function where(filter: ConnectionFilter): PendingQuery<Row[]> {
    const conditions: PendingQuery<Row[]>[] = [live];
    if (filter.region_id) conditions.push(sql`c.region_id = ${filter.region_id}`);
    if (filter.connection_type) conditions.push(sql`c.connection_type = ${filter.connection_type}`);
    if (filter.is_active !== undefined) conditions.push(sql`c.is_active = ${filter.is_active}`);
    if (filter.is_healthy !== undefined) conditions.push(sql`c.is_healthy = ${filter.is_healthy}`);
    if (filter.search) {
      const term = likeTerm(filter.search);
      conditions.push(sql`(c.connection_name ilike ${term} or c.host ilike ${term}
                           or c.database_name ilike ${term})`);
    }
    return allOf(sql, conditions);
  }

  return {
    async list(
      filter: ConnectionFilter & {
        sort: ConnectionSort;
        order: "asc" | "desc";
        limit: number;
        offset: number;
      },
    ): Promise<{ rows: ConnectionRow[]; summary: HealthSummary }> {
      const condition = where(filter);
      const [summary] = await sql<SummaryRow[]>`
        select ${summaryColumns(sql)} from admin.database_connections c where ${condition}`;
      const rows =
        (summary?.total ?? 0) > filter.offset
          ? await sql<ConnectionRow[]>`
              ${select} where ${condition}
              order by ${orderBy(sql, filter.sort, filter.order)}
              limit ${filter.limit} offset ${filter.offset}`
          : [];
      return { rows: [...rows], summary: presentSummary(summary) };
    },

    async summary() {
      const [all] = await sql<SummaryRow[]>`
        select ${summaryColumns(sql)} from admin.database_connections c where ${live}`;
      const regions = await sql<(SummaryRow & { region_id: string; region_code: string })[]>`
        select c.region_id, r.code as region_code, ${summaryColumns(sql)}
        from admin.database_connections c join admin.regions r on r.id = c.region_id
        where ${live} group by c.region_id, r.code order by r.code`;
      const types = await sql<
        (SummaryRow & { connection_type: DatabaseConnection["connection_type"] })[]
      >`
        select c.connection_type, ${summaryColumns(sql)}
        from admin.database_connections c where ${live}
        group by c.connection_type order by c.connection_type`;
      return {
        summary: presentSummary(all),
        by_region: regions.map((r) => ({
          region_id: r.region_id,
          region_code: r.region_code,
          summary: presentSummary(r),
        })),
        by_type: types.map((t) => ({
          connection_type: t.connection_type,
          summary: presentSummary(t),
        })),
      };
    },

    async byId(id: string, options: { lock?: boolean } = {}): Promise<ConnectionRow | undefined> {
      const [row] = await sql<ConnectionRow[]>`
        ${select} where c.id = ${id} and ${live} ${options.lock ? sql`for update` : sql``}`;
      return row;
    },

    /** Probe targets, ciphertext included: named ones (not deleted), or every active one. */
    async settingsFor(ids: readonly string[] | undefined): Promise<ProbeTarget[]> {
      const which = ids ? sql`c.id = any(${[...ids]}::uuid[])` : sql`c.is_active`;
      const rows = await sql<ProbeTarget[]>`
        select c.id, c.region_id, c.connection_name, c.host, c.port, c.database_name, c.username,
               c.encrypted_password, c.ssl_mode, c.hyperdrive_binding, c.pool_max_size,
               c.pool_timeout_seconds, c.pool_recycle_seconds, c.is_active, false as deleted,
               c.is_healthy, c.consecutive_failures, c.last_health_check
        from admin.database_connections c
        where ${live} and ${which} order by c.connection_name`;
      return [...rows];
    },

    /** A fresh id, so the password can be sealed to the row before it is inserted. */
    async newId(): Promise<string> {
      const [row] = await sql<{ id: string }[]>`select platform_common.uuid_generate_v7() as id`;
      return row?.id as string;
    },

    async regionActive(regionId: string): Promise<boolean | undefined> {
      const [row] = await sql<{ is_active: boolean }[]>`
        select is_active from admin.regions where id = ${regionId}`;
      return row?.is_active;
    },

    async insert(values: Record<string, unknown>): Promise<ConnectionRow> {
      const [row] = await sql<ConnectionRow[]>`
        with inserted as (insert into admin.database_connections ${sql(values)} returning *)
        select ${columns(sql)} from inserted c`;
      return row as ConnectionRow;
    },

    async update(id: string, values: Record<string, unknown>): Promise<ConnectionRow> {
      const [row] = await sql<ConnectionRow[]>`
        with updated as (
          update admin.database_connections set ${sql(values)} where id = ${id} returning *
        )
        select ${columns(sql)} from updated c`;
      return row as ConnectionRow;
    },

    /** One probe's outcome: a success heals; failures count, and unhealthy after the limit. */
    async recordHealth(id: string, ok: boolean): Promise<ConnectionRow | undefined> {
      const [row] = await sql<ConnectionRow[]>`
        with updated as (
          update admin.database_connections set
            is_healthy = case when ${ok} then true
                         else is_healthy and consecutive_failures + 1 < max_consecutive_failures end,
            consecutive_failures = case when ${ok} then 0 else consecutive_failures + 1 end,
            last_health_check = now()
          where id = ${id} and deleted_at is null
          returning *
        )
        select ${columns(sql)} from updated c`;
      return row;
    },

    /**
     * The connection that a region's unpinned tenants use: its first active primary (by age, so
     * it only changes when that one goes away). Mirrors the router's lookup.
     */
    async regionRoute(regionId: string): Promise<string | null> {
      const [row] = await sql<{ id: string }[]>`
        select id from admin.database_connections
        where region_id = ${regionId} and connection_type = 'primary' and is_active
          and deleted_at is null
        order by created_at, id limit 1`;
      return row?.id ?? null;
    },

    async pinnedTenants(id: string): Promise<number> {
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from admin.tenants
        where database_connection_id = ${id} and ${liveTenant}`;
      return row?.n ?? 0;
    },

    async unpinnedTenants(regionId: string): Promise<number> {
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from admin.tenants
        where region_id = ${regionId} and database_connection_id is null
          and ${liveTenant}`;
      return row?.n ?? 0;
    },
  };
}
