import type { ISql, PendingQuery, Row } from "postgres";
import { allOf, likeTerm } from "../../core/db/sql-fragments";
import {
  type PlatformUser,
  SEARCH_FIELDS,
  type SearchField,
  type UserFilter,
  type UserSort,
} from "./schemas";

/** A platform user row as the API reads it (never `provider_metadata`: the provider's own). */
export type UserRow = Omit<PlatformUser, "created_at" | "updated_at" | "last_login_at"> & {
  last_login_at: Date | null;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
  /** The sort key of the list's order, as text (microseconds kept), for cursors. */
  sort_key?: string;
};

/** The API's shape of a row: JSON-safe, so it can be cached and returned as is. */
export function presentUser(row: UserRow): PlatformUser {
  return {
    id: row.id,
    email: row.email,
    username: row.username,
    first_name: row.first_name,
    last_name: row.last_name,
    display_name: row.display_name,
    avatar_url: row.avatar_url,
    phone: row.phone,
    timezone: row.timezone,
    locale: row.locale,
    job_title: row.job_title,
    departments: row.departments,
    company: row.company,
    external_auth_provider: row.external_auth_provider,
    external_user_id: row.external_user_id,
    external_id: row.external_id,
    is_active: row.is_active,
    is_superadmin: row.is_superadmin,
    last_login_at: row.last_login_at?.toISOString() ?? null,
    is_onboarding_completed: row.is_onboarding_completed,
    profile_completion_percentage: row.profile_completion_percentage,
    notification_preferences: row.notification_preferences,
    ui_preferences: row.ui_preferences,
    metadata: row.metadata,
    version: row.version,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

function columns(sql: ISql) {
  return sql`
    u.id, u.email, u.username, u.first_name, u.last_name, u.display_name, u.avatar_url, u.phone,
    u.timezone, u.locale, u.job_title, u.departments, u.company, u.external_auth_provider,
    u.external_user_id, u.external_id, u.is_active, u.is_superadmin, u.last_login_at,
    u.is_onboarding_completed, u.profile_completion_percentage, u.notification_preferences,
    u.ui_preferences, u.metadata, u.version, u.created_at, u.updated_at, u.deleted_at`;
}

/** Where a keyset page resumes: the last row's sort key (as text) and id. */
export type UserPosition = readonly [key: string, id: string];

const TIMESTAMP_SORTS = new Set<UserSort>(["created_at", "last_login_at"]);

function sortExpression(sql: ISql, sort: UserSort): PendingQuery<Row[]> {
  return {
    created_at: sql`u.created_at`,
    username: sql`u.username`,
    email: sql`u.email`,
    // Never signed in sorts as the oldest sign-in, so the key is never null (keyset needs that).
    last_login_at: sql`coalesce(u.last_login_at, 'epoch'::timestamptz)`,
  }[sort];
}

/** The sort key as text: timestamps to the microsecond (a JS Date would round them). */
function sortKeyText(sql: ISql, sort: UserSort): PendingQuery<Row[]> {
  const expr = sortExpression(sql, sort);
  return TIMESTAMP_SORTS.has(sort)
    ? sql`to_char(${expr} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
    : sql`${expr}::text`;
}

function searchCondition(sql: ISql, term: string, fields: readonly SearchField[]) {
  const like = likeTerm(term);
  const column = {
    email: sql`u.email`,
    username: sql`u.username`,
    first_name: sql`u.first_name`,
    last_name: sql`u.last_name`,
    display_name: sql`u.display_name`,
    company: sql`u.company`,
    job_title: sql`u.job_title`,
  };
  return fields
    .map((field) => sql`${column[field]} ilike ${like}`)
    .reduce((a, b) => sql`${a} or ${b}`);
}

/**
 * Users whose effective platform permissions grant any of `codes`, the way the permission
 * checker computes them: role codes not directly denied, plus direct grants, with `resource:*`
 * granting every action of its resource. Superadmins hold every permission.
 */
function grantsAny(sql: ISql, codes: string[]): PendingQuery<Row[]> {
  const wanted = [
    ...new Set(codes.flatMap((code) => [code, `${code.slice(0, code.lastIndexOf(":"))}:*`])),
  ];
  return sql`(u.is_superadmin or exists (
    select 1 from (
      select p.code
      from admin.platform_user_roles ur
      join admin.platform_roles r on r.id = ur.role_id and r.deleted_at is null
      join admin.role_permissions rp on rp.role_id = r.id
      join admin.platform_permissions p on p.id = rp.permission_id and p.deleted_at is null
      where ur.user_id = u.id and ur.is_active and (ur.expires_at is null or ur.expires_at > now())
        and p.code not in (
          select dp.code from admin.platform_user_permissions d
          join admin.platform_permissions dp on dp.id = d.permission_id
          where d.user_id = u.id and not d.is_granted and d.is_active
            and (d.expires_at is null or d.expires_at > now()))
      union all
      select p.code
      from admin.platform_user_permissions up
      join admin.platform_permissions p on p.id = up.permission_id and p.deleted_at is null
      where up.user_id = u.id and up.is_granted and up.is_active
        and (up.expires_at is null or up.expires_at > now())
    ) effective where effective.code = any(${wanted})))`;
}

function conditions(sql: ISql, filter: UserFilter): PendingQuery<Row[]>[] {
  const where: PendingQuery<Row[]>[] = [sql`u.deleted_at is null`];
  if (filter.search) {
    const fields = filter.search_fields?.length ? filter.search_fields : SEARCH_FIELDS;
    where.push(sql`(${searchCondition(sql, filter.search, fields)})`);
  }
  if (filter.email) where.push(sql`lower(u.email) = ${filter.email.toLowerCase()}`);
  if (filter.username) where.push(sql`u.username = ${filter.username}`);
  if (filter.external_auth_provider)
    where.push(sql`u.external_auth_provider = ${filter.external_auth_provider}`);
  if (filter.is_active !== undefined) where.push(sql`u.is_active = ${filter.is_active}`);
  if (filter.is_superadmin !== undefined)
    where.push(sql`u.is_superadmin = ${filter.is_superadmin}`);
  if (filter.company) where.push(sql`u.company ilike ${likeTerm(filter.company)}`);
  if (filter.job_title) where.push(sql`u.job_title ilike ${likeTerm(filter.job_title)}`);
  if (filter.department) {
    where.push(sql`exists (select 1 from unnest(u.departments) d
                           where lower(d) = ${filter.department.toLowerCase()})`);
  }
  if (filter.has_role?.length) {
    where.push(sql`exists (
      select 1 from admin.platform_user_roles ur
      join admin.platform_roles r on r.id = ur.role_id and r.deleted_at is null
      where ur.user_id = u.id and ur.is_active and (ur.expires_at is null or ur.expires_at > now())
        and r.code = any(${filter.has_role}))`);
  }
  if (filter.has_permission?.length) where.push(grantsAny(sql, filter.has_permission));
  if (filter.tenant_access) {
    where.push(sql`exists (
      select 1 from admin.tenant_access_grants g
      where g.user_id = u.id and g.tenant_id = ${filter.tenant_access} and g.is_active
        and (g.expires_at is null or g.expires_at > now()))`);
  }
  return where;
}

export interface UserOrder {
  sort: UserSort;
  order: "asc" | "desc";
}

function orderBy(sql: ISql, { sort, order }: UserOrder): PendingQuery<Row[]> {
  const direction = order === "asc" ? sql`asc` : sql`desc`;
  // The id breaks ties in the same direction, so the (key, id) pair orders rows totally.
  return sql`${sortExpression(sql, sort)} ${direction}, u.id ${direction}`;
}

/** Platform user SQL. Reads run on the pool or a transaction; writes only inside a transaction. */
export function usersRepository(sql: ISql) {
  const select = sql`select ${columns(sql)} from admin.platform_users u`;

  return {
    async page(
      filter: UserFilter,
      order: UserOrder,
      limit: number,
      offset: number,
    ): Promise<{ rows: UserRow[]; total: number }> {
      const condition = allOf(sql, conditions(sql, filter));
      const [{ total } = { total: 0 }] = await sql<{ total: number }[]>`
        select count(*)::int as total from admin.platform_users u where ${condition}`;
      const rows =
        total > offset
          ? await sql<UserRow[]>`
              ${select} where ${condition} order by ${orderBy(sql, order)}
              limit ${limit} offset ${offset}`
          : [];
      return { rows: [...rows], total };
    },

    /** `limit` rows after `after` (exclusive) in the given order: a keyset page. */
    async seek(
      filter: UserFilter,
      order: UserOrder,
      limit: number,
      after?: UserPosition,
    ): Promise<UserRow[]> {
      const where = conditions(sql, filter);
      if (after) {
        const expr = sortExpression(sql, order.sort);
        const key = TIMESTAMP_SORTS.has(order.sort)
          ? sql`${after[0]}::timestamptz`
          : sql`${after[0]}`;
        const beyond = order.order === "asc" ? sql`>` : sql`<`;
        where.push(sql`(${expr}, u.id) ${beyond} (${key}, ${after[1]}::uuid)`);
      }
      const rows = await sql<UserRow[]>`
        select ${columns(sql)}, ${sortKeyText(sql, order.sort)} as sort_key
        from admin.platform_users u
        where ${allOf(sql, where)} order by ${orderBy(sql, order)} limit ${limit}`;
      return [...rows];
    },

    /** A live (not deleted) user, optionally locked for a write. */
    async byId(id: string, options: { lock?: boolean } = {}): Promise<UserRow | undefined> {
      const [row] = await sql<UserRow[]>`
        ${select} where u.id = ${id} and u.deleted_at is null
        ${options.lock ? sql`for update` : sql``}`;
      return row;
    },

    /** Live users among `ids`, locked in id order (so two bulk writers cannot deadlock). */
    async lockMany(ids: readonly string[]): Promise<UserRow[]> {
      const rows = await sql<UserRow[]>`
        ${select} where u.id = any(${[...ids]}::uuid[]) and u.deleted_at is null
        order by u.id for update`;
      return [...rows];
    },

    /** Who holds a unique value already (deleted users too: their values are never reused). */
    async holderOf(field: "email" | "username" | "external_id", value: string) {
      const column = {
        email: sql`lower(email) = ${value.toLowerCase()}`,
        username: sql`username = ${value}`,
        external_id: sql`external_id = ${value}`,
      }[field];
      const [row] = await sql<{ id: string; deleted: boolean }[]>`
        select id, deleted_at is not null as deleted from admin.platform_users
        where ${column} limit 1`;
      return row;
    },

    /** The row a token's account maps to, deleted or not (sync-from-token must not resurrect). */
    async byExternalAccount(provider: string, externalUserId: string, username: string) {
      const [row] = await sql<UserRow[]>`
        ${select}
        where (u.external_auth_provider = ${provider}::admin.auth_provider
               and u.external_user_id = ${externalUserId})
           or u.username = ${username}
        order by (u.external_user_id = ${externalUserId}) desc limit 1`;
      return row;
    },

    async insert(values: Record<string, unknown>): Promise<UserRow> {
      const [row] = await sql<UserRow[]>`
        with inserted as (insert into admin.platform_users ${sql(values as never)} returning *)
        select ${columns(sql)} from inserted u`;
      return row as UserRow;
    },

    async update(id: string, patch: Record<string, unknown>): Promise<UserRow> {
      const values = Object.fromEntries(
        Object.entries(patch).filter(([, value]) => value !== undefined),
      );
      const [row] = await sql<UserRow[]>`
        with updated as (
          update admin.platform_users set ${sql(values as never)} where id = ${id} returning *
        )
        select ${columns(sql)} from updated u`;
      return row as UserRow;
    },

    async softDelete(id: string): Promise<UserRow> {
      const [row] = await sql<UserRow[]>`
        with updated as (
          update admin.platform_users set deleted_at = now(), is_active = false
          where id = ${id} returning *
        )
        select ${columns(sql)} from updated u`;
      return row as UserRow;
    },

    /** Active superadmins other than `except`, locked so two removals cannot both pass. */
    async otherActiveSuperadmins(except: readonly string[]): Promise<number> {
      const rows = await sql<{ id: string }[]>`
        select id from admin.platform_users
        where is_superadmin and is_active and deleted_at is null and id <> all(${[...except]}::uuid[])
        order by id for update`;
      return rows.length;
    },

    /** Holds an active, unexpired system or platform role (an "admin" for onboarding). */
    async holdsPlatformRole(id: string): Promise<boolean> {
      const [row] = await sql<{ yes: boolean }[]>`
        select exists (
          select 1 from admin.platform_user_roles ur
          join admin.platform_roles r on r.id = ur.role_id and r.deleted_at is null
          where ur.user_id = ${id} and ur.is_active and (ur.expires_at is null or ur.expires_at > now())
            and r.role_level in ('system', 'platform')) as yes`;
      return row?.yes ?? false;
    },

    /** Facts onboarding steps are computed from. */
    async onboardingFacts(id: string) {
      const [row] = await sql<
        {
          organization_created: boolean;
          tenant_created: boolean;
          tenant_joined: boolean;
          workspace_accessed: boolean;
        }[]
      >`
        select
          exists (select 1 from admin.audit_log
                  where actor_id = ${id} and action = 'organizations.create') as organization_created,
          exists (select 1 from admin.audit_log
                  where actor_id = ${id} and action = 'tenants.create') as tenant_created,
          exists (select 1 from admin.tenant_access_grants
                  where user_id = ${id} and is_active
                    and (expires_at is null or expires_at > now())) as tenant_joined,
          exists (select 1 from admin.tenant_access_grants
                  where user_id = ${id} and (last_accessed_at is not null or access_count > 0))
            as workspace_accessed`;
      return (
        row ?? {
          organization_created: false,
          tenant_created: false,
          tenant_joined: false,
          workspace_accessed: false,
        }
      );
    },
  };
}
