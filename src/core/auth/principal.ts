import type { Sql } from "postgres";
import { CacheUnavailableError } from "../cache/errors";
import { keys } from "../cache/keys";
import type { Cache } from "../cache/port";
import { sha256HexSync } from "./token-hash";

/** The platform user behind a verified token: what authorization needs, nothing more. */
export interface PlatformPrincipal {
  id: string;
  username: string;
  email: string;
  is_active: boolean;
  is_superadmin: boolean;
}

const TTL_SECONDS = 600;

function userKey(externalUserId: string) {
  // Federated Keycloak subjects look like `f:<provider>:<user>`: hash what is not a key segment.
  const segment = /^[A-Za-z0-9_.-]{1,128}$/.test(externalUserId)
    ? externalUserId
    : `h-${sha256HexSync(externalUserId)}`;
  return keys.platform("user", "by-external-id", segment);
}

/**
 * Finds the platform user for a token's `sub`, cache-first. Changes to a user's status or
 * superadmin flag call `forgetPrincipal`, so they apply to the next request.
 */
export async function loadPrincipal(
  sql: Sql,
  cache: Cache,
  externalUserId: string,
): Promise<PlatformPrincipal | undefined> {
  const key = userKey(externalUserId);
  let cacheUp = true;
  try {
    const hit = await cache.get<PlatformPrincipal>(key);
    if (hit) return hit;
  } catch (error) {
    if (!(error instanceof CacheUnavailableError)) throw error;
    cacheUp = false;
  }
  const [row] = await sql<PlatformPrincipal[]>`
    select id, username, email, is_active, is_superadmin
    from admin.platform_users
    where external_user_id = ${externalUserId} and deleted_at is null`;
  if (row && cacheUp) {
    await cache.set(key, row, { ttlSeconds: TTL_SECONDS }).catch(() => {});
  }
  return row;
}

export async function forgetPrincipal(cache: Cache, externalUserId: string): Promise<void> {
  await cache.delete(userKey(externalUserId));
}
