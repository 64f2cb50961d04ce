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
 * Effective platform permissions of a user: the permissions of their active, unexpired roles plus
 * their active, unexpired direct grants, minus direct denials (`is_granted = false`), which
 * override a role. With a tenant id, the tenant-scoped grants join in once the tenant tables
 * exist (the tenants feature adds `tenantGrants` to this query's union).
 */
async function loadEffective(
  sql: Sql,
  userId: string,
): Promise<{ codes: string[]; expiresAt: number | null }> {
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
    )
    select code, expires_at from role_codes
    where code not in (select code from direct where not is_granted)
    union all
    select code, expires_at from direct where is_granted`;
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
      return (await loadEffective(sql, userId)).codes;
    }
    const { codes, expiresAt } = await loadEffective(sql, userId);
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
