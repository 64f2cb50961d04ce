import type { ISql } from "postgres";
import { splitCode } from "../../core/auth/permission-codes";

export interface PermissionRow {
  id: number;
  code: string;
  description: string | null;
  resource: string;
  action: string;
  scope_level: "platform" | "tenant" | "user";
  is_dangerous: boolean;
  requires_mfa: boolean;
  requires_approval: boolean;
  source: string;
  created_at: Date;
  updated_at: Date;
}

export interface DeclaredCode {
  code: string;
  dangerous: boolean;
}

export function permissionsRepository(sql: ISql) {
  return {
    async list(filter: {
      scope?: string;
      resource?: string;
      search?: string;
      limit: number;
      offset: number;
    }) {
      const where = [sql`deleted_at is null`];
      if (filter.scope) where.push(sql`scope_level = ${filter.scope}`);
      if (filter.resource) where.push(sql`resource = ${filter.resource}`);
      if (filter.search) {
        const term = `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        where.push(sql`(code ilike ${term} or description ilike ${term})`);
      }
      const condition = where.reduce((a, b) => sql`${a} and ${b}`);
      const rows = await sql<(PermissionRow & { total: string })[]>`
        select *, count(*) over () as total from admin.platform_permissions
        where ${condition} order by code limit ${filter.limit} offset ${filter.offset}`;
      const total = rows[0]
        ? Number(rows[0].total)
        : Number(
            (
              await sql<
                { n: string }[]
              >`select count(*) as n from admin.platform_permissions where ${condition}`
            )[0]?.n ?? 0,
          );
      return { rows: rows.map(({ total: _, ...row }) => row), total };
    },

    async counts() {
      const [row] = await sql<
        {
          total: number;
          platform: number;
          tenant: number;
          dangerous: number;
          mfa: number;
          from_routes: number;
        }[]
      >`
        select count(*)::int as total,
               count(*) filter (where scope_level = 'platform')::int as platform,
               count(*) filter (where scope_level = 'tenant')::int as tenant,
               count(*) filter (where is_dangerous)::int as dangerous,
               count(*) filter (where requires_mfa)::int as mfa,
               count(*) filter (where source = 'route')::int as from_routes
        from admin.platform_permissions where deleted_at is null`;
      return row ?? { total: 0, platform: 0, tenant: 0, dangerous: 0, mfa: 0, from_routes: 0 };
    },

    async existing(codes: string[]) {
      return sql<{ code: string; is_dangerous: boolean; deleted_at: Date | null }[]>`
        select code, is_dangerous, deleted_at from admin.platform_permissions where code = any(${codes})`;
    },

    /**
     * Inserts declared codes that are missing, and (with `forceUpdate`) raises `is_dangerous` where
     * a route declares it. Never lowers a flag or deletes a row: seeds and operators own those.
     */
    async upsertDeclared(declared: DeclaredCode[], forceUpdate: boolean) {
      if (declared.length === 0) return;
      const rows = declared.map((d) => {
        const { resource, action } = splitCode(d.code);
        return { code: d.code, resource, action, is_dangerous: d.dangerous, source: "route" };
      });
      await sql`
        insert into admin.platform_permissions ${sql(rows, "code", "resource", "action", "is_dangerous", "source")}
        on conflict (code) do update set
          is_dangerous = admin.platform_permissions.is_dangerous or excluded.is_dangerous,
          deleted_at = null
        where ${forceUpdate}
          and (admin.platform_permissions.deleted_at is not null
               or (excluded.is_dangerous and not admin.platform_permissions.is_dangerous))`;
    },
  };
}
