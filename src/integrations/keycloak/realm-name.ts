/**
 * Realm names go into URL paths (`/realms/{realm}/...`, `/admin/realms/{realm}/...`). They come
 * from our database, but a bad row must never become a path traversal towards another Keycloak
 * endpoint (`..`, `a/b`, `%2F`), so only this conservative alphabet is accepted, on both sides:
 * the client refuses to build such a URL and the local identity provider refuses to serve one.
 */
const REALM_NAME = /^[A-Za-z0-9._-]{1,64}$/;

export function isValidRealmName(realm: unknown): realm is string {
  return typeof realm === "string" && REALM_NAME.test(realm) && realm !== "." && realm !== "..";
}

/**
 * Ids of users and clients are UUIDs in Keycloak. They also become path segments, and `..` would
 * be resolved by the URL parser before the request leaves, so the same rule applies.
 */
const RESOURCE_ID = /^[A-Za-z0-9-]{1,64}$/;

export function isValidResourceId(id: unknown): id is string {
  return typeof id === "string" && RESOURCE_ID.test(id);
}
