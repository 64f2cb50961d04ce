import type { ISql, JSONValue } from "postgres";
import { likeTerm } from "../../core/db/sql-fragments";
import type { RoleLevel, RoleSort } from "./schemas";

/** The admin pool or a transaction: reads run on either, writes only inside a transaction. */
export type Queryable = ISql;

export interface RoleRow {
  id: number;
  code: string;
  name: string;
  display_name: string | null;
  description: string | null;
  role_level: RoleLevel;
  priority: number;
  is_system: boolean;
  is_default: boolean;
  max_assignees: number | null;
  tenant_scoped: boolean;
  requires_approval: boolean;
  role_config: Record<string, unknown>;
  metadata: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

export interface RoleDetailRow extends RoleRow {
  permissions: string[];
  assignee_count: number;
}

export interface PermissionRef {
  id: number;
  code: string;
  scope_level: "platform" | "tenant" | "user";
}

export interface AssignmentRow {
  user_id: string;
  role_id: number;
  role_code: string;
  role_name: string;
  role_display_name: string | null;
  role_level: RoleLevel;
  role_priority: number;
  granted_by: string | null;
  granted_reason: string | null;
  granted_at: Date;
  expires_at: Date | null;
  is_active: boolean;
  expired: boolean;
}

export interface RoleFilter {
  code?: string;
  name?: string;
  role_level?: RoleLevel;
  is_system?: boolean;
  is_default?: boolean;
  tenant_scoped?: boolean;
  search?: string;
  sort: RoleSort;
  order: "asc" | "desc";
  limit: number;
  offset: number;
}

export interface NewRole {
  code: string;
  name: string;
  display_name: string | null;
  description: string | null;
  role_level: "platform" | "tenant";
  priority: number;
  max_assignees: number | null;
  tenant_scoped: boolean;
  requires_approval: boolean;
  role_config: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

export interface RolePatch {
  name?: string;
  display_name?: string | null;
  description?: string | null;
  priority?: number;
  max_assignees?: number | null;
  requires_approval?: boolean;
  role_config?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

export interface Grant {
  user_id: string;
  role_id: number;
  granted_by: string;
  granted_reason: string | null;
  expires_at: Date | null;
}

export function rolesRepository(sql: Queryable) {
  // Parsed request JSON is JSON by construction; the cast only satisfies postgres.js's type.
  const json = (value: Record<string, unknown>) => sql.json(value as JSONValue);
  const columns = sql`
    r.id, r.code, r.name, r.display_name, r.description, r.role_level, r.priority, r.is_system,
    r.is_default, r.max_assignees, r.tenant_scoped, r.requires_approval, r.role_config, r.metadata,
    r.created_at, r.updated_at`;
  /**
   * A grant that counts: active, unexpired, held by a user who still exists. The same definition
   * feeds `assignee_count` and the `max_assignees` check, so the two never disagree.
   */
  const liveAssignment = (alias: string) => sql`
    ${sql(alias)}.is_active
    and (${sql(alias)}.expires_at is null or ${sql(alias)}.expires_at > now())
    and exists (select 1 from admin.platform_users u
                where u.id = ${sql(alias)}.user_id and u.deleted_at is null)`;
  const details = sql`
    coalesce((select array_agg(p.code order by p.code)
              from admin.role_permissions rp
              join admin.platform_permissions p on p.id = rp.permission_id and p.deleted_at is null
              where rp.role_id = r.id), '{}') as permissions,
    (select count(*)::int from admin.platform_user_roles ur
     where ur.role_id = r.id and ${liveAssignment("ur")}) as assignee_count`;
  const orderings: Record<RoleSort, Record<"asc" | "desc", ReturnType<typeof sql>>> = {
    priority: { asc: sql`r.priority asc, r.code`, desc: sql`r.priority desc, r.code` },
    code: { asc: sql`r.code asc`, desc: sql`r.code desc` },
    name: { asc: sql`r.name asc, r.code`, desc: sql`r.name desc, r.code` },
    created_at: { asc: sql`r.created_at asc, r.code`, desc: sql`r.created_at desc, r.code` },
  };

  return {
    async list(filter: RoleFilter) {
      const where = [sql`r.deleted_at is null`];
      if (filter.code) where.push(sql`r.code = ${filter.code}`);
      if (filter.name) where.push(sql`r.name ilike ${likeTerm(filter.name)}`);
      if (filter.role_level) where.push(sql`r.role_level = ${filter.role_level}`);
      if (filter.is_system !== undefined) where.push(sql`r.is_system = ${filter.is_system}`);
      if (filter.is_default !== undefined) where.push(sql`r.is_default = ${filter.is_default}`);
      if (filter.tenant_scoped !== undefined)
        where.push(sql`r.tenant_scoped = ${filter.tenant_scoped}`);
      if (filter.search) {
        const term = likeTerm(filter.search);
        where.push(sql`(r.code ilike ${term} or r.name ilike ${term}
                        or r.display_name ilike ${term} or r.description ilike ${term})`);
      }
      const condition = where.reduce((a, b) => sql`${a} and ${b}`);
      const [{ total } = { total: 0 }] = await sql<{ total: number }[]>`
        select count(*)::int as total from admin.platform_roles r where ${condition}`;
      const rows =
        total > filter.offset
          ? await sql<RoleDetailRow[]>`
              select ${columns}, ${details} from admin.platform_roles r
              where ${condition}
              order by ${orderings[filter.sort][filter.order]}
              limit ${filter.limit} offset ${filter.offset}`
          : [];
      return { rows: [...rows], total };
    },

    async detail(id: number): Promise<RoleDetailRow | undefined> {
      const [row] = await sql<RoleDetailRow[]>`
        select ${columns}, ${details} from admin.platform_roles r
        where r.id = ${id} and r.deleted_at is null`;
      return row;
    },

    async detailByCode(code: string): Promise<RoleDetailRow | undefined> {
      const [row] = await sql<RoleDetailRow[]>`
        select ${columns}, ${details} from admin.platform_roles r
        where r.code = ${code} and r.deleted_at is null`;
      return row;
    },

    /** Locks a live role for the rest of the transaction: writes to one role run one at a time. */
    async lock(id: number): Promise<RoleRow | undefined> {
      const [row] = await sql<RoleRow[]>`
        select ${columns} from admin.platform_roles r
        where r.id = ${id} and r.deleted_at is null
        for update`;
      return row;
    },

    /** Locks several roles in id order, so two bulk assignments can never deadlock each other. */
    async lockMany(ids: number[]): Promise<RoleRow[]> {
      return [
        ...(await sql<RoleRow[]>`
          select ${columns} from admin.platform_roles r
          where r.id = any(${ids}::int[]) and r.deleted_at is null
          order by r.id
          for update`),
      ];
    },

    /** Whether a code is taken, and by a deleted role (codes are never reused). */
    async codeOwner(code: string): Promise<{ deleted: boolean } | undefined> {
      const [row] = await sql<{ deleted: boolean }[]>`
        select deleted_at is not null as deleted from admin.platform_roles where code = ${code}`;
      return row;
    },

    /** Inserts a role; undefined when the code is taken (the unique index decides, race-free). */
    async insert(role: NewRole): Promise<{ id: number } | undefined> {
      const [row] = await sql<{ id: number }[]>`
        insert into admin.platform_roles
          (code, name, display_name, description, role_level, priority, is_system, is_default,
           max_assignees, tenant_scoped, requires_approval, role_config, metadata)
        values (${role.code}, ${role.name}, ${role.display_name}, ${role.description},
                ${role.role_level}, ${role.priority}, false, false, ${role.max_assignees},
                ${role.tenant_scoped}, ${role.requires_approval},
                ${json(role.role_config)}, ${json(role.metadata)})
        on conflict (code) do nothing
        returning id`;
      return row;
    },

    async update(id: number, patch: RolePatch): Promise<void> {
      const sets = [];
      if (patch.name !== undefined) sets.push(sql`name = ${patch.name}`);
      if (patch.display_name !== undefined) sets.push(sql`display_name = ${patch.display_name}`);
      if (patch.description !== undefined) sets.push(sql`description = ${patch.description}`);
      if (patch.priority !== undefined) sets.push(sql`priority = ${patch.priority}`);
      if (patch.max_assignees !== undefined) sets.push(sql`max_assignees = ${patch.max_assignees}`);
      if (patch.requires_approval !== undefined)
        sets.push(sql`requires_approval = ${patch.requires_approval}`);
      if (patch.role_config !== undefined) sets.push(sql`role_config = ${json(patch.role_config)}`);
      if (patch.metadata !== undefined) sets.push(sql`metadata = ${json(patch.metadata)}`);
      if (sets.length === 0) return;
      const assignments = sets.reduce((a, b) => sql`${a}, ${b}`);
      await sql`update admin.platform_roles set ${assignments} where id = ${id}`;
    },

    async softDelete(id: number): Promise<Date> {
      const [row] = await sql<{ deleted_at: Date }[]>`
        update admin.platform_roles set deleted_at = now() where id = ${id}
        returning deleted_at`;
      if (!row) throw new Error(`role ${id} vanished while locked`);
      return row.deleted_at;
    },

    async liveAssigneeCounts(roleIds: number[]): Promise<Map<number, number>> {
      const rows = await sql<{ role_id: number; n: number }[]>`
        select ur.role_id, count(*)::int as n from admin.platform_user_roles ur
        where ur.role_id = any(${roleIds}::int[]) and ${liveAssignment("ur")}
        group by ur.role_id`;
      return new Map(rows.map((r) => [r.role_id, r.n]));
    },

    /** Deactivates every active grant of a role; returns the users concerned. */
    async deactivateAssignments(roleId: number): Promise<string[]> {
      const rows = await sql<{ user_id: string }[]>`
        update admin.platform_user_roles set is_active = false
        where role_id = ${roleId} and is_active
        returning user_id`;
      return rows.map((r) => r.user_id);
    },

    async permissionsByIds(ids: number[]): Promise<PermissionRef[]> {
      if (ids.length === 0) return [];
      return [
        ...(await sql<PermissionRef[]>`
          select id, code, scope_level from admin.platform_permissions
          where id = any(${ids}::int[]) and deleted_at is null`),
      ];
    },

    async permissionsByCodes(codes: string[]): Promise<PermissionRef[]> {
      if (codes.length === 0) return [];
      return [
        ...(await sql<PermissionRef[]>`
          select id, code, scope_level from admin.platform_permissions
          where code = any(${codes}::text[]) and deleted_at is null`),
      ];
    },

    async permissionCodesOf(roleId: number): Promise<PermissionRef[]> {
      return [
        ...(await sql<PermissionRef[]>`
          select p.id, p.code, p.scope_level from admin.role_permissions rp
          join admin.platform_permissions p on p.id = rp.permission_id
          where rp.role_id = ${roleId}`),
      ];
    },

    async removePermissions(roleId: number, permissionIds: number[]): Promise<void> {
      if (permissionIds.length === 0) return;
      await sql`
        delete from admin.role_permissions
        where role_id = ${roleId} and permission_id = any(${permissionIds}::int[])`;
    },

    async addPermissions(roleId: number, permissionIds: number[]): Promise<void> {
      if (permissionIds.length === 0) return;
      await sql`
        insert into admin.role_permissions (role_id, permission_id)
        select ${roleId}, unnest(${permissionIds}::int[])
        on conflict do nothing`;
    },

    /** Which of these users exist (not soft-deleted). */
    async existingUsers(ids: string[]): Promise<Set<string>> {
      const rows = await sql<{ id: string }[]>`
        select id from admin.platform_users where id = any(${ids}::uuid[]) and deleted_at is null`;
      return new Set(rows.map((r) => r.id));
    },

    /** The (user, role) pairs among these that are already live grants. */
    async livePairs(userIds: string[], roleIds: number[]): Promise<Set<string>> {
      const rows = await sql<{ user_id: string; role_id: number }[]>`
        select ur.user_id, ur.role_id from admin.platform_user_roles ur
        where ur.user_id = any(${userIds}::uuid[]) and ur.role_id = any(${roleIds}::int[])
          and ur.is_active and (ur.expires_at is null or ur.expires_at > now())`;
      return new Set(rows.map((r) => pairKey(r.user_id, r.role_id)));
    },

    /**
     * Grants, or re-grants a deactivated or expired assignment in place (the primary key is
     * (user, role), so history is the latest grant's details).
     */
    async grant(grants: Grant[]): Promise<void> {
      if (grants.length === 0) return;
      await sql`
        insert into admin.platform_user_roles
          ${sql(grants, "user_id", "role_id", "granted_by", "granted_reason", "expires_at")}
        on conflict (user_id, role_id) do update set
          granted_by = excluded.granted_by,
          granted_reason = excluded.granted_reason,
          granted_at = now(),
          expires_at = excluded.expires_at,
          is_active = true`;
    },

    /** Deactivates one active grant; false when there was none. */
    async revoke(userId: string, roleId: number): Promise<boolean> {
      const rows = await sql`
        update admin.platform_user_roles set is_active = false
        where user_id = ${userId} and role_id = ${roleId} and is_active
        returning user_id`;
      return rows.length > 0;
    },

    async assignmentsOf(userId: string, roleId?: number): Promise<AssignmentRow[]> {
      return [
        ...(await sql<AssignmentRow[]>`
          select ur.user_id, ur.role_id, r.code as role_code, r.name as role_name,
                 r.display_name as role_display_name, r.role_level, r.priority as role_priority,
                 ur.granted_by, ur.granted_reason, ur.granted_at, ur.expires_at, ur.is_active,
                 coalesce(ur.expires_at <= now(), false) as expired
          from admin.platform_user_roles ur
          join admin.platform_roles r on r.id = ur.role_id and r.deleted_at is null
          where ur.user_id = ${userId}
            ${roleId === undefined ? sql`` : sql`and ur.role_id = ${roleId}`}
          order by ur.is_active desc, r.priority desc, r.code`),
      ];
    },
  };
}

export function pairKey(userId: string, roleId: number): string {
  return `${userId}/${roleId}`;
}
