import type { ISql, PendingQuery, Row } from "postgres";
import {
  allOf,
  insertRow,
  likeTerm,
  orderWithTieBreaker,
  pageOf,
  updateRow,
} from "../../core/db/sql-fragments";
import type {
  CreateOrganizationInput,
  MemberRole,
  MemberSort,
  Organization,
  OrganizationMember,
  OrganizationSetting,
  OrganizationSort,
  UpdateOrganizationInput,
} from "./schemas";

export interface OrganizationFilter {
  search?: string;
  country_code?: string;
  industry?: string;
  company_size?: string;
  is_active?: boolean;
  is_verified?: boolean;
  sort: OrganizationSort;
  order: "asc" | "desc";
  limit: number;
  offset: number;
}

export interface MemberFilter {
  member_role?: MemberRole;
  search?: string;
  sort: MemberSort;
  order: "asc" | "desc";
  limit: number;
  offset: number;
}

type Dated<T, K extends keyof T> = Omit<T, K> & {
  [P in K]: T[P] extends string ? Date : Date | null;
};

export type OrganizationRow = Dated<
  Organization,
  "created_at" | "updated_at" | "verified_at" | "deleted_at"
>;
export type SettingRow = Dated<OrganizationSetting, "created_at" | "updated_at">;
export type MemberRow = Dated<OrganizationMember, "created_at" | "updated_at">;

const iso = (value: Date | null) => (value === null ? null : value.toISOString());

/** The API's shape of a row: JSON-safe, so it can be cached and returned as is. */
export function presentOrganization(row: OrganizationRow): Organization {
  return {
    ...row,
    verified_at: iso(row.verified_at),
    deleted_at: iso(row.deleted_at),
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export function presentSetting(row: SettingRow): OrganizationSetting {
  return {
    ...row,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export function presentMember(row: MemberRow): OrganizationMember {
  return {
    ...row,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

function columns(sql: ISql) {
  return sql`
    o.id, o.name, o.slug, o.legal_name, o.tax_id, o.business_type, o.industry, o.company_size,
    o.website_url, o.primary_contact_id, o.address_line1, o.address_line2, o.city,
    o.state_province, o.postal_code, o.country_code, o.default_timezone, o.default_locale,
    o.default_currency, o.logo_url, o.brand_colors, o.is_active, o.verified_at,
    o.verification_documents, o.version, o.created_at, o.updated_at, o.deleted_at`;
}

const table = (sql: ISql) => ({
  table: "admin.organizations",
  alias: "o",
  columns: columns(sql),
});

function organizationOrder(sql: ISql, sort: OrganizationSort, order: "asc" | "desc") {
  const column = {
    created_at: sql`o.created_at`,
    updated_at: sql`o.updated_at`,
    name: sql`o.name`,
    slug: sql`o.slug`,
  }[sort];
  return orderWithTieBreaker(sql, column, order, sql`o.id`);
}

const settingColumns = (sql: ISql) => sql`
  s.setting_key as key, s.setting_value as value, s.is_public, s.updated_by, s.created_at,
  s.updated_at`;

const memberColumns = (sql: ISql) => sql`
  m.organization_id, m.user_id, u.username, u.email, u.display_name,
  (u.is_active and u.deleted_at is null) as user_is_active, m.member_role, m.added_by,
  m.version, m.created_at, m.updated_at`;

const membersFrom = (sql: ISql) => sql`
  from admin.organization_members m join admin.platform_users u on u.id = m.user_id`;

/**
 * Organization SQL: the organization itself, its settings and its members. Soft-deleted
 * organizations are invisible to every read. Writes only inside a transaction.
 */
export function organizationsRepository(sql: ISql) {
  const live = sql`select ${columns(sql)} from admin.organizations o where o.deleted_at is null`;

  return {
    async list(filter: OrganizationFilter): Promise<{ rows: OrganizationRow[]; total: number }> {
      const where: PendingQuery<Row[]>[] = [sql`o.deleted_at is null`];
      if (filter.country_code) where.push(sql`o.country_code = ${filter.country_code}`);
      if (filter.industry) where.push(sql`o.industry = ${filter.industry}`);
      if (filter.company_size) where.push(sql`o.company_size = ${filter.company_size}`);
      if (filter.is_active !== undefined) where.push(sql`o.is_active = ${filter.is_active}`);
      if (filter.is_verified !== undefined) {
        where.push(
          filter.is_verified ? sql`o.verified_at is not null` : sql`o.verified_at is null`,
        );
      }
      if (filter.search) {
        const term = likeTerm(filter.search);
        where.push(
          sql`(o.name ilike ${term} or o.slug ilike ${term} or o.legal_name ilike ${term})`,
        );
      }
      return pageOf<OrganizationRow>(sql, {
        columns: columns(sql),
        from: sql`from admin.organizations o where ${allOf(sql, where)}`,
        order: organizationOrder(sql, filter.sort, filter.order),
        limit: filter.limit,
        offset: filter.offset,
      });
    },

    async byId(id: string, options: { lock?: boolean } = {}): Promise<OrganizationRow | undefined> {
      const [row] = await sql<OrganizationRow[]>`
        ${live} and o.id = ${id} ${options.lock ? sql`for update` : sql``}`;
      return row;
    },

    async bySlug(slug: string): Promise<OrganizationRow | undefined> {
      const [row] = await sql<OrganizationRow[]>`${live} and o.slug = ${slug}`;
      return row;
    },

    async insert(input: CreateOrganizationInput): Promise<OrganizationRow> {
      const [row] = await insertRow<OrganizationRow>(sql, table(sql), input);
      return row as OrganizationRow;
    },

    async update(
      id: string,
      patch: UpdateOrganizationInput | { is_active: false; deleted_at: Date },
    ): Promise<OrganizationRow> {
      const [row] = await updateRow<OrganizationRow>(sql, table(sql), id, patch);
      return row as OrganizationRow;
    },

    /** Whether a platform user exists and is not deleted (a contact or member must). */
    async userExists(userId: string): Promise<boolean> {
      const rows = await sql`
        select 1 from admin.platform_users where id = ${userId} and deleted_at is null`;
      return rows.length > 0;
    },

    /** Tenants that block deleting an organization: every tenant not archived or deleted. */
    async countActiveTenants(id: string): Promise<number> {
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from admin.tenants
        where organization_id = ${id} and deleted_at is null
          and status not in ('archived', 'deleted')`;
      return row?.n ?? 0;
    },

    async settings(id: string, keys?: string[]): Promise<SettingRow[]> {
      const only = keys ? sql`and s.setting_key = any(${keys})` : sql``;
      const rows = await sql<SettingRow[]>`
        select ${settingColumns(sql)} from admin.organization_settings s
        where s.organization_id = ${id} ${only} order by s.setting_key`;
      return [...rows];
    },

    async upsertSetting(
      id: string,
      key: string,
      setting: { value: unknown; is_public?: boolean | undefined },
      updatedBy: string | null,
    ): Promise<void> {
      const value = sql.json(setting.value as never);
      await sql`
        insert into admin.organization_settings
          (organization_id, setting_key, setting_value, is_public, updated_by)
        values (${id}, ${key}, ${value}, ${setting.is_public ?? false}, ${updatedBy})
        on conflict (organization_id, setting_key) do update
          set setting_value = excluded.setting_value,
              is_public = ${setting.is_public === undefined ? sql`admin.organization_settings.is_public` : setting.is_public},
              updated_by = excluded.updated_by`;
    },

    async deleteSettings(id: string, keys: string[]): Promise<void> {
      if (keys.length === 0) return;
      await sql`
        delete from admin.organization_settings
        where organization_id = ${id} and setting_key = any(${keys})`;
    },

    async listMembers(
      id: string,
      filter: MemberFilter,
    ): Promise<{ rows: MemberRow[]; total: number }> {
      const where: PendingQuery<Row[]>[] = [sql`m.organization_id = ${id}`];
      if (filter.member_role) where.push(sql`m.member_role = ${filter.member_role}`);
      if (filter.search) {
        const term = likeTerm(filter.search);
        where.push(sql`(u.username ilike ${term} or u.email ilike ${term}
                        or u.display_name ilike ${term})`);
      }
      const column = { created_at: sql`m.created_at`, username: sql`u.username` }[filter.sort];
      return pageOf<MemberRow>(sql, {
        columns: memberColumns(sql),
        from: sql`${membersFrom(sql)} where ${allOf(sql, where)}`,
        order: orderWithTieBreaker(sql, column, filter.order, sql`m.user_id`),
        limit: filter.limit,
        offset: filter.offset,
      });
    },

    async member(id: string, userId: string): Promise<MemberRow | undefined> {
      const [row] = await sql<MemberRow[]>`
        select ${memberColumns(sql)} ${membersFrom(sql)}
        where m.organization_id = ${id} and m.user_id = ${userId}`;
      return row;
    },

    async insertMember(
      id: string,
      input: { user_id: string; member_role: MemberRole },
      addedBy: string | null,
    ): Promise<void> {
      await sql`
        insert into admin.organization_members (organization_id, user_id, member_role, added_by)
        values (${id}, ${input.user_id}, ${input.member_role}, ${addedBy})`;
    },

    async setMemberRole(id: string, userId: string, role: MemberRole): Promise<void> {
      await sql`
        update admin.organization_members set member_role = ${role}
        where organization_id = ${id} and user_id = ${userId}`;
    },

    async deleteMember(id: string, userId: string): Promise<void> {
      await sql`
        delete from admin.organization_members
        where organization_id = ${id} and user_id = ${userId}`;
    },

    async countOwners(id: string): Promise<number> {
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from admin.organization_members
        where organization_id = ${id} and member_role = 'owner'`;
      return row?.n ?? 0;
    },
  };
}
