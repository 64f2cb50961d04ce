import type { Sql } from "postgres";
import { CacheUnavailableError } from "../cache/errors";
import { keys } from "../cache/keys";
import type { Cache } from "../cache/port";
import { anyGrants } from "./permission-codes";

/** At most this long in the cache; less when a grant expires sooner. */
const PERMISSIONS_TTL_SECONDS = 600;

interface EffectiveRow {
  code: string;
  expires_at: Date | null;
}

/**
 * Effective permissions of a user: the permissions of their active, unexpired platform roles
 * plus their active, unexpired direct grants, minus direct denials (`is_granted = false`), which
 * override a role. With a tenant id, that tenant's grants join in the same way (tenant roles
 * from `tenant_user_roles`, direct grants and denials from `tenant_user_permissions`; a tenant
 * denial overrides that tenant's roles only). Grants of a deleted tenant count for nothing.
 * The team-scoped grants inside a tenant's own schema are the tenant level, checked by the
 * tenant features against the regional database, not here.
 */
async function loadEffective(
  sql: Sql,
  userId: string,
  tenantId?: string,
): Promise<{ codes: string[]; expiresAt: number | null }> {
  const tenantRows = tenantId
    ? sql`
      union all
      select code, expires_at from tenant_role_codes
      where code not in (select code from tenant_direct where not is_granted)
      union all
      select code, expires_at from tenant_direct where is_granted`
    : sql``;
  const rows = await sql<EffectiveRow[]>`
    with role_codes as (
      select p.code, ur.expires_at
      from admin.platform_user_roles ur
      join admin.platform_roles r on r.id = ur.role_id and r.deleted_at is null
      join admin.role_permissions rp on rp.role_id = r.id
      join admin.platform_permissions p on p.id = rp.permission_id and p.deleted_at is null
      where ur.user_id = ${userId} and ur.is_active
        and (ur.expires_at is null or ur.expires_at > now())
    ), direct as (
      select p.code, up.is_granted, up.expires_at
      from admin.platform_user_permissions up
      join admin.platform_permissions p on p.id = up.permission_id and p.deleted_at is null
      where up.user_id = ${userId} and up.is_active
        and (up.expires_at is null or up.expires_at > now())
    ), tenant_role_codes as (
      select p.code, tr.expires_at
      from admin.tenant_user_roles tr
      join admin.tenants t on t.id = tr.tenant_id and t.deleted_at is null
      join admin.platform_roles r on r.id = tr.role_id and r.deleted_at is null
      join admin.role_permissions rp on rp.role_id = r.id
      join admin.platform_permissions p on p.id = rp.permission_id and p.deleted_at is null
      where tr.user_id = ${userId} and tr.tenant_id = ${tenantId ?? null} and tr.is_active
        and (tr.expires_at is null or tr.expires_at > now())
    ), tenant_direct as (
      select p.code, tp.is_granted, tp.expires_at
      from admin.tenant_user_permissions tp
      join admin.tenants t on t.id = tp.tenant_id and t.deleted_at is null
      join admin.platform_permissions p on p.id = tp.permission_id and p.deleted_at is null
      where tp.user_id = ${userId} and tp.tenant_id = ${tenantId ?? null} and tp.is_active
        and (tp.expires_at is null or tp.expires_at > now())
    )
    select code, expires_at from role_codes
    where code not in (select code from direct where not is_granted)
    union all
    select code, expires_at from direct where is_granted
    ${tenantRows}`;
  let expiresAt: number | null = null;
  for (const row of rows) {
    if (row.expires_at) {
      const at = row.expires_at.getTime();
      expiresAt = expiresAt === null ? at : Math.min(expiresAt, at);
    }
  }
  return { codes: [...new Set(rows.map((r) => r.code))].sort(), expiresAt };
}

export interface PermissionSubject {
  id: string;
  is_superadmin: boolean;
}

/**
 * Answers "may this user do X" from the cache (`platform:perms:user:{id}:tenant:{id|-}`), loading
 * from the database on a miss. Every change to a role, a role's permissions, a grant or a user's
 * status calls one of the invalidate methods, so a revocation applies to the very next request.
 * A cache outage reads the database instead: authorization never fails open, and never fails
 * for want of a cache.
 */
export class PermissionChecker {
  constructor(private readonly deps: { cache: Cache; now?: () => number }) {}

  private key(userId: string, tenantId?: string) {
    return keys.platform("perms", "user", userId, "tenant", tenantId ?? "-");
  }

  async effective(sql: Sql, userId: string, tenantId?: string): Promise<string[]> {
    const key = this.key(userId, tenantId);
    try {
      const hit = await this.deps.cache.get<string[]>(key);
      if (hit) return hit;
    } catch (error) {
      if (!(error instanceof CacheUnavailableError)) throw error;
      return (await loadEffective(sql, userId, tenantId)).codes;
    }
    const { codes, expiresAt } = await loadEffective(sql, userId, tenantId);
    const now = this.deps.now?.() ?? Date.now();
    const untilExpiry =
      expiresAt === null ? PERMISSIONS_TTL_SECONDS : Math.floor((expiresAt - now) / 1000);
    const ttlSeconds = Math.min(PERMISSIONS_TTL_SECONDS, untilExpiry);
    if (ttlSeconds >= 1) {
      await this.deps.cache.set(key, codes, { ttlSeconds }).catch((error: unknown) => {
        if (!(error instanceof CacheUnavailableError)) throw error;
      });
    }
    return codes;
  }

  async has(
    sql: Sql,
    user: PermissionSubject,
    required: string,
    tenantId?: string,
  ): Promise<boolean> {
    if (user.is_superadmin) return true;
    return anyGrants(await this.effective(sql, user.id, tenantId), required);
  }

  /** After a change to one user's grants or status. */
  async invalidateUser(userId: string): Promise<void> {
    await this.deps.cache.deleteByPrefix(keys.platform("perms", "user", userId));
  }

  /** After a change to a role or a role's permissions: it may concern any user. */
  async invalidateAll(): Promise<void> {
    await this.deps.cache.deleteByPrefix(keys.platform("perms"));
  }
}
