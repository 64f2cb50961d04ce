import type { ISql, Sql } from "postgres";

export interface PlatformUserRow {
  id: string;
  email: string;
  username: string;
  external_user_id: string;
  first_name: string | null;
  last_name: string | null;
  display_name: string | null;
  timezone: string;
  locale: string;
  is_active: boolean;
  is_superadmin: boolean;
  last_login_at: Date | null;
  created_at: Date;
}

export interface TokenIdentity {
  sub: string;
  username: string;
  email: string;
  firstName?: string;
  lastName?: string;
}

const PROFILE_COLUMNS = `id, email, username, external_user_id, first_name, last_name, display_name,
  timezone, locale, is_active, is_superadmin, last_login_at, created_at`;

/**
 * The platform user of a Keycloak account, created on first sign-in and refreshed from the token
 * afterwards. Matched by the identity provider's id first; a row with the same username but
 * another id (the account was recreated in Keycloak) is re-linked, not duplicated. Runs on the
 * pool or inside a transaction (sync-from-token audits the change in the same one).
 */
export async function upsertPlatformUserFromToken(
  sql: ISql,
  identity: TokenIdentity,
  options: { login: boolean },
): Promise<PlatformUserRow> {
  const lastLogin = options.login ? sql`now()` : sql`last_login_at`;
  const [linked] = await sql<PlatformUserRow[]>`
    update admin.platform_users set
      email = ${identity.email},
      username = ${identity.username},
      external_id = ${identity.sub},
      first_name = coalesce(${identity.firstName ?? null}, first_name),
      last_name = coalesce(${identity.lastName ?? null}, last_name),
      last_login_at = ${lastLogin}
    where external_auth_provider = 'keycloak' and external_user_id = ${identity.sub}
    returning ${sql.unsafe(PROFILE_COLUMNS)}`;
  if (linked) return linked;
  const [row] = await sql<PlatformUserRow[]>`
    insert into admin.platform_users
      (email, username, external_id, external_auth_provider, external_user_id, first_name, last_name, last_login_at)
    values (${identity.email}, ${identity.username}, ${identity.sub}, 'keycloak', ${identity.sub},
            ${identity.firstName ?? null}, ${identity.lastName ?? null},
            ${options.login ? sql`now()` : null})
    on conflict (username) do update set
      email = excluded.email,
      external_id = excluded.external_id,
      external_user_id = excluded.external_user_id,
      first_name = coalesce(excluded.first_name, admin.platform_users.first_name),
      last_name = coalesce(excluded.last_name, admin.platform_users.last_name),
      last_login_at = coalesce(excluded.last_login_at, admin.platform_users.last_login_at)
    returning ${sql.unsafe(PROFILE_COLUMNS)}`;
  if (!row) throw new Error("upsert returned no row");
  return row;
}

export function authRepository(sql: Sql) {
  return {
    async upsertFromToken(
      identity: TokenIdentity,
      options: { login: boolean },
    ): Promise<PlatformUserRow> {
      return upsertPlatformUserFromToken(sql, identity, options);
    },

    async byId(id: string): Promise<PlatformUserRow | undefined> {
      const [row] = await sql<PlatformUserRow[]>`
        select id, email, username, external_user_id, first_name, last_name, display_name, timezone,
               locale, is_active, is_superadmin, last_login_at, created_at
        from admin.platform_users where id = ${id} and deleted_at is null`;
      return row;
    },

    async byEmailOrUsername(login: string): Promise<PlatformUserRow | undefined> {
      const [row] = await sql<PlatformUserRow[]>`
        select id, email, username, external_user_id, first_name, last_name, display_name, timezone,
               locale, is_active, is_superadmin, last_login_at, created_at
        from admin.platform_users
        where (lower(email) = lower(${login}) or username = ${login}) and deleted_at is null
        limit 1`;
      return row;
    },

    async roleCodes(userId: string): Promise<string[]> {
      const rows = await sql<{ code: string }[]>`
        select r.code from admin.platform_user_roles ur
        join admin.platform_roles r on r.id = ur.role_id and r.deleted_at is null
        where ur.user_id = ${userId} and ur.is_active and (ur.expires_at is null or ur.expires_at > now())
        order by r.priority desc, r.code`;
      return rows.map((r) => r.code);
    },

    /** Makes a user a superadmin holding `super_admin` (the local identity provider's seed user). */
    async promoteToSuperadmin(userId: string): Promise<void> {
      await sql.begin(async (tx) => {
        await tx`update admin.platform_users set is_superadmin = true where id = ${userId}`;
        await tx`
          insert into admin.platform_user_roles (user_id, role_id, granted_reason)
          select ${userId}, id, 'local identity provider seed' from admin.platform_roles where code = 'super_admin'
          on conflict do nothing`;
      });
    },
  };
}
