import type { Hono } from "hono";
import { authenticateClient } from "../client-auth";
import { NO_STORE, oauthError, readForm } from "../http";
import type { IdpStore } from "../store";
import { numberClaim, readHmacSignedToken, stringClaim } from "../tokens";
import { realmDoesNotExist, realmOf } from "./realm";
import { clientAuthenticationFailure } from "./token";

/**
 * The back-channel logout of a confidential (or public) client with its refresh token: the
 * session ends, so its refresh tokens stop working and its access tokens introspect inactive.
 * Browser logout (GET, id_token_hint, redirects) is not implemented.
 */
export function registerLogoutRoutes(app: Hono, store: IdpStore): void {
  app.post("/realms/:realm/protocol/openid-connect/logout", async (c) => {
    const realm = realmOf(c, store);
    if (!realm) return realmDoesNotExist(c);
    const form = await readForm(c);
    const auth = authenticateClient(realm, form, c.req.header("authorization"));
    if (!auth.ok) return clientAuthenticationFailure(c, auth);
    const token = form.get("refresh_token");
    if (token === null) return oauthError(c, 400, "invalid_request", "No refresh token", NO_STORE);
    // Keycloak does not check the expiry here: logging out with an old token is fine.
    const claims = await readHmacSignedToken(store, realm, token);
    if (claims?.typ !== "Refresh") {
      return oauthError(c, 400, "invalid_grant", "Invalid refresh token", NO_STORE);
    }
    if (stringClaim(claims, "azp") !== auth.client.clientId) {
      return oauthError(
        c,
        400,
        "invalid_grant",
        "Invalid refresh token. Token client and authorized client don't match",
        NO_STORE,
      );
    }
    const sid = stringClaim(claims, "sid");
    const session = sid === undefined ? undefined : realm.sessions.get(sid);
    if (session) {
      if ((numberClaim(claims, "iat") ?? 0) + 1 < session.started) {
        // Keycloak's own spelling.
        return oauthError(
          c,
          400,
          "invalid_grant",
          "Toked issued before the user session started",
          NO_STORE,
        );
      }
      realm.sessions.delete(session.id);
    }
    return c.body(null, 204);
  });
}
