import { TokenVerificationError } from "./token-errors";

/**
 * Realm names go into URLs (issuer, JWKS, introspection) and cache keys. They come from our
 * database, but a bad row must not turn into a path traversal (`..`, `a/b`, `%2F`) towards
 * another Keycloak endpoint, so only this conservative alphabet is accepted.
 */
const REALM = /^[A-Za-z0-9._-]{1,64}$/;

export function isValidRealmName(realm: string): boolean {
  return REALM.test(realm) && realm !== "." && realm !== "..";
}

export function assertValidRealm(realm: string): void {
  if (typeof realm !== "string" || !isValidRealmName(realm)) {
    throw new TokenVerificationError("invalid_realm", "realm name rejected");
  }
}

/**
 * `https://id.example.com/` and `https://id.example.com` must give the same issuer, and a
 * query or fragment would silently change every URL built from it.
 */
export function normalizeKeycloakUrl(keycloakUrl: string): string {
  let url: URL;
  try {
    url = new URL(keycloakUrl);
  } catch {
    throw new TypeError("keycloakUrl must be an absolute http(s) URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new TypeError("keycloakUrl must be an absolute http(s) URL");
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new TypeError("keycloakUrl must not carry a query, fragment or credentials");
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
}

/** Exactly what Keycloak puts in `iss`: `{keycloakUrl}/realms/{realm}`. */
export function realmIssuer(keycloakUrl: string, realm: string): string {
  assertValidRealm(realm);
  return `${keycloakUrl}/realms/${realm}`;
}
