import type { Context } from "hono";
import { isValidRealmName } from "../../realm-name";
import type { IdpStore, RealmRecord } from "../store";

/** The realm named in the path, or null when the name is invalid or unknown. */
export function realmOf(c: Context, store: IdpStore): RealmRecord | null {
  const name = c.req.param("realm");
  if (!isValidRealmName(name)) return null;
  return store.realm(name) ?? null;
}

/** Keycloak's answer on its OpenID Connect endpoints for a realm it does not know. */
export function realmDoesNotExist(c: Context): Response {
  return c.json({ error: "Realm does not exist" }, 404);
}
