import { isValidRealmName } from "../../integrations/keycloak/realm-name";
import { TokenVerificationError } from "./token-errors";

/**
 * Realm names go into URLs (issuer, JWKS, introspection) and cache keys: one rule for the whole
 * project, kept beside the Keycloak client that builds the other URLs.
 */
export { isValidRealmName } from "../../integrations/keycloak/realm-name";

export function assertValidRealm(realm: string): void {
  if (!isValidRealmName(realm)) {
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
