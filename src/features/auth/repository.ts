import type { ISql, Sql } from "postgres";
import { uniqueViolation } from "../../core/db/sql-fragments";

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
 * afterwards, matched by the identity provider's id (`sub`) only. Runs on the pool or inside a
 * transaction (sync-from-token audits the change in the same one).
 *
 * Answers `undefined` when the token's username or email already belongs to another platform
 * user (another `sub`): a Keycloak account deleted and recreated with the same name must not
 * inherit the old account's roles, superadmin flag or history, so nothing is re-linked
 * implicitly. `relinkByUsername` is for the one trusted caller that recreates a known account
 * itself: the development server's local identity provider, whose superadmin gets a new id at
 * every start.
 */
export async function upsertPlatformUserFromToken(
  sql: ISql,
  identity: TokenIdentity,
  options: { login: boolean; relinkByUsername?: boolean },
): Promise<PlatformUserRow | undefined> {
  const lastLogin = options.login ? sql`now()` : sql`last_login_at`;
  const profile = sql`
    email = ${identity.email},
    username = ${identity.username},
    external_id = ${identity.sub},
    external_user_id = ${identity.sub},
    first_name = coalesce(${identity.firstName ?? null}, first_name),
    last_name = coalesce(${identity.lastName ?? null}, last_name),
    last_login_at = ${lastLogin}`;
  try {
    const [linked] = await sql<PlatformUserRow[]>`
      update admin.platform_users set ${profile}
      where external_auth_provider = 'keycloak' and external_user_id = ${identity.sub}
      returning ${sql.unsafe(PROFILE_COLUMNS)}`;
    if (linked) return linked;
    if (options.relinkByUsername) {
      const [relinked] = await sql<PlatformUserRow[]>`
        update admin.platform_users set ${profile}
        where external_auth_provider = 'keycloak' and username = ${identity.username}
        returning ${sql.unsafe(PROFILE_COLUMNS)}`;
      if (relinked) return relinked;
    }
    const [row] = await sql<PlatformUserRow[]>`
      insert into admin.platform_users
        (email, username, external_id, external_auth_provider, external_user_id, first_name,
         last_name, last_login_at)
      values (${identity.email}, ${identity.username}, ${identity.sub}, 'keycloak', ${identity.sub},
              ${identity.firstName ?? null}, ${identity.lastName ?? null},
              ${options.login ? sql`now()` : null})
      on conflict do nothing
      returning ${sql.unsafe(PROFILE_COLUMNS)}`;
    return row;
  } catch (error) {
    // A renamed account whose new username or email another platform user holds.
    if (uniqueViolation(error) !== undefined) return undefined;
    throw error;
  }
}

export function authRepository(sql: Sql) {
  return {
    async upsertFromToken(
      identity: TokenIdentity,
      options: { login: boolean; relinkByUsername?: boolean },
    ): Promise<PlatformUserRow | undefined> {
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

/** The answer when a token's username or email belongs to another platform user. */
export const IDENTITY_CONFLICT_MESSAGE =
  "This account's username or email belongs to another platform user (the account may have been recreated in the identity provider); an administrator must resolve it";
