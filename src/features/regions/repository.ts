import type { ISql, PendingQuery, Row } from "postgres";
import {
  allOf,
  insertRow,
  likeTerm,
  orderWithTieBreaker,
  pageOf,
  updateRow,
} from "../../core/db/sql-fragments";
import type { CreateRegionInput, Region, RegionSort, UpdateRegionInput } from "./schemas";

export interface RegionFilter {
  is_active?: boolean;
  accepts_new_tenants?: boolean;
  gdpr_region?: boolean;
  provider?: string;
  continent?: string;
  search?: string;
  sort: RegionSort;
  order: "asc" | "desc";
  limit: number;
  offset: number;
}

/** What blocks deactivating a region. */
export interface RegionUsage {
  active_connections: number;
  active_tenants: number;
}

/** A region row; bigint cents are read as numbers (they stay far below 2^53). */
export type RegionRow = Omit<Region, "created_at" | "updated_at"> & {
  created_at: Date;
  updated_at: Date;
};

/** The API's shape of a row: JSON-safe, so it can be cached and returned as is. */
export function presentRegion(row: RegionRow): Region {
  return {
    ...row,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

function columns(sql: ISql) {
  return sql`
    r.id, r.code, r.name, r.display_name, r.country_code, r.continent, r.city, r.timezone,
    r.coordinates, r.data_residency_compliant, r.gdpr_region, r.compliance_certifications,
    r.legal_entity, r.is_active, r.accepts_new_tenants, r.capacity_percentage, r.max_tenants,
    r.current_tenants, r.priority, r.provider, r.provider_region, r.availability_zones,
    r.primary_endpoint, r.backup_endpoints, r.internal_network,
    r.cost_per_gb_monthly_cents::float8 as cost_per_gb_monthly_cents,
    r.cost_per_tenant_monthly_cents::float8 as cost_per_tenant_monthly_cents, r.version,
    r.created_at, r.updated_at`;
}

function orderBy(sql: ISql, sort: RegionSort, order: "asc" | "desc"): PendingQuery<Row[]> {
  const column = {
    priority: sql`r.priority`,
    code: sql`r.code`,
    name: sql`r.name`,
    current_tenants: sql`r.current_tenants`,
    created_at: sql`r.created_at`,
  }[sort];
  // The (unique) code breaks ties, so pages never overlap.
  return orderWithTieBreaker(sql, column, order, sql`r.code`);
}

/** Region SQL. Reads run on the pool or a transaction; writes only inside a transaction. */
export function regionsRepository(sql: ISql) {
  const select = sql`select ${columns(sql)} from admin.regions r`;
  const table = { table: "admin.regions", alias: "r", columns: columns(sql) };

  return {
    async list(filter: RegionFilter): Promise<{ rows: RegionRow[]; total: number }> {
      const where: PendingQuery<Row[]>[] = [];
      if (filter.is_active !== undefined) where.push(sql`r.is_active = ${filter.is_active}`);
      if (filter.accepts_new_tenants !== undefined)
        where.push(sql`r.accepts_new_tenants = ${filter.accepts_new_tenants}`);
      if (filter.gdpr_region !== undefined) where.push(sql`r.gdpr_region = ${filter.gdpr_region}`);
      if (filter.provider) where.push(sql`r.provider = ${filter.provider}`);
      if (filter.continent) where.push(sql`r.continent = ${filter.continent}`);
      if (filter.search) {
        const term = likeTerm(filter.search);
        where.push(sql`(r.code ilike ${term} or r.name ilike ${term}
                        or r.display_name ilike ${term} or r.city ilike ${term})`);
      }
      return pageOf<RegionRow>(sql, {
        columns: columns(sql),
        from: sql`from admin.regions r where ${allOf(sql, where)}`,
        order: orderBy(sql, filter.sort, filter.order),
        limit: filter.limit,
        offset: filter.offset,
      });
    },

    async byId(id: string, options: { lock?: boolean } = {}): Promise<RegionRow | undefined> {
      const [row] = await sql<RegionRow[]>`
        ${select} where r.id = ${id} ${options.lock ? sql`for update` : sql``}`;
      return row;
    },

    async byCode(code: string): Promise<RegionRow | undefined> {
      const [row] = await sql<RegionRow[]>`${select} where r.code = ${code}`;
      return row;
    },

    async insert(input: CreateRegionInput): Promise<RegionRow> {
      const [row] = await insertRow<RegionRow>(sql, table, input);
      return row as RegionRow;
    },

    /** Applies the fields sent; the caller has locked the row and checked its version. */
    async update(
      id: string,
      patch:
        | UpdateRegionInput
        | Partial<Pick<RegionRow, "is_active" | "accepts_new_tenants" | "current_tenants">>,
    ): Promise<RegionRow> {
      const [row] = await updateRow<RegionRow>(sql, table, id, patch);
      return row as RegionRow;
    },

    async usage(id: string): Promise<RegionUsage> {
      const [row] = await sql<RegionUsage[]>`
        select
          (select count(*)::int from admin.database_connections
            where region_id = ${id} and is_active and deleted_at is null) as active_connections,
          (select count(*)::int from admin.tenants
            where region_id = ${id} and deleted_at is null
              and status not in ('archived', 'deleted')) as active_tenants`;
      return row as RegionUsage;
    },

    /** Tenants that count against a region's capacity: every tenant not archived or deleted. */
    async countTenants(id: string): Promise<number> {
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from admin.tenants
        where region_id = ${id} and deleted_at is null and status not in ('archived', 'deleted')`;
      return row?.n ?? 0;
    },
  };
}
