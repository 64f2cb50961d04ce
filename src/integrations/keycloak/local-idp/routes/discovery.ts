import type { Hono } from "hono";
import type { IdpStore } from "../store";
import { realmDoesNotExist, realmOf } from "./realm";

/** The scopes a token request may ask for: Keycloak's default OIDC client scopes. */
export const SUPPORTED_SCOPES = [
  "openid",
  "profile",
  "email",
  "roles",
  "web-origins",
  "acr",
  "basic",
];

export function registerDiscoveryRoutes(app: Hono, store: IdpStore): void {
  app.get("/realms/:realm/.well-known/openid-configuration", (c) => {
    const realm = realmOf(c, store);
    if (!realm) return realmDoesNotExist(c);
    const issuer = store.issuer(realm);
    const oidc = `${issuer}/protocol/openid-connect`;
    // Only what this server implements is advertised (no authorization endpoint, no browser
    // flows); the names and values are Keycloak's.
    return c.json({
      issuer,
      token_endpoint: `${oidc}/token`,
      introspection_endpoint: `${oidc}/token/introspect`,
      userinfo_endpoint: `${oidc}/userinfo`,
      end_session_endpoint: `${oidc}/logout`,
      jwks_uri: `${oidc}/certs`,
      grant_types_supported: ["client_credentials", "password", "refresh_token"],
      acr_values_supported: ["0", "1"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      introspection_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      claims_supported: [
        "aud",
        "sub",
        "iss",
        "auth_time",
        "name",
        "given_name",
        "family_name",
        "preferred_username",
        "email",
        "acr",
      ],
      claim_types_supported: ["normal"],
      scopes_supported: SUPPORTED_SCOPES,
      backchannel_logout_supported: false,
      frontchannel_logout_supported: false,
    });
  });

  app.get("/realms/:realm/protocol/openid-connect/certs", (c) => {
    const realm = realmOf(c, store);
    if (!realm) return realmDoesNotExist(c);
    realm.certsRequests++;
    if (!realm.certsAvailable) {
      return c.json(
        { error: "temporarily_unavailable", error_description: "Signing keys unavailable" },
        503,
        { "Retry-After": "30" },
      );
    }
    // Keycloak answers application/json unless the client asks for the JWK set type.
    const accept = c.req.header("accept") ?? "";
    const contentType = accept.includes("application/jwk-set+json")
      ? "application/jwk-set+json"
      : "application/json";
    const body = JSON.stringify({ keys: realm.signingKeys.map((key) => key.publicJwk) });
    return c.body(body, 200, { "Content-Type": contentType, "Cache-Control": "no-cache" });
  });
}
