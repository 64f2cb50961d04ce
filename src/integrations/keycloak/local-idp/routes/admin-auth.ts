import type { Context } from "hono";
import { decodeJwt } from "jose";
import { isValidRealmName } from "../../realm-name";
import { bearerToken } from "../http";
import type { IdpStore, RealmRecord, UserRecord } from "../store";
import { checkAccessToken } from "../tokens";

/** Who calls the admin REST API: a user (or service account) of some realm. */
export interface AdminCaller {
  realm: RealmRecord;
  user: UserRecord;
}

export const UNAUTHORIZED_BODY = { error: "HTTP 401 Unauthorized" };
export const FORBIDDEN_BODY = { error: "HTTP 403 Forbidden" };

/**
 * Keycloak accepts admin tokens from the realm named in their issuer: `master` for the server's
 * administrators, or the target realm itself. The token must be one Keycloak would accept
 * anywhere (signature, expiry, live session).
 */
export async function authenticateAdmin(c: Context, store: IdpStore): Promise<AdminCaller | null> {
  const token = bearerToken(c.req.header("authorization"));
  if (!token) return null;
  let issuer: unknown;
  try {
    issuer = decodeJwt(token).iss;
  } catch {
    return null;
  }
  const prefix = `${store.settings.baseUrl}/realms/`;
  if (typeof issuer !== "string" || !issuer.startsWith(prefix)) return null;
  const realmName = issuer.slice(prefix.length);
  if (!isValidRealmName(realmName)) return null;
  const realm = store.realm(realmName);
  if (!realm) return null;
  const state = await checkAccessToken(store, realm, token);
  return state.active ? { realm, user: state.user } : null;
}

/**
 * Role checks read the caller's current roles, not the token's claims, as Keycloak does: taking
 * a role away takes effect on the next call. `target` null means creating a realm.
 */
export function mayAdminister(caller: AdminCaller, target: RealmRecord | null): boolean {
  const { realm, user } = caller;
  if (realm.name === "master" && user.realmRoles.has("admin")) return true;
  if (target === null) return realm.name === "master" && user.realmRoles.has("create-realm");
  return (
    realm === target && (user.clientRoles.get("realm-management")?.has("realm-admin") ?? false)
  );
}
