import type { Context, Hono } from "hono";
import { bearerToken, readForm } from "../http";
import type { IdpStore } from "../store";
import { checkAccessToken, profileClaims } from "../tokens";
import { realmDoesNotExist, realmOf } from "./realm";

export function registerUserinfoRoutes(app: Hono, store: IdpStore): void {
  const path = "/realms/:realm/protocol/openid-connect/userinfo";

  const userinfo = async (c: Context, fromForm: boolean) => {
    const realm = realmOf(c, store);
    if (!realm) return realmDoesNotExist(c);
    let token = bearerToken(c.req.header("authorization"));
    // Keycloak also takes the token from a POSTed form, as OpenID Connect allows.
    if (token === undefined && fromForm)
      token = (await readForm(c)).get("access_token") ?? undefined;
    if (token === undefined) {
      return c.json({ error: "invalid_request", error_description: "Token not provided" }, 400);
    }
    const state = await checkAccessToken(store, realm, token);
    // OpenID Connect Core 5.3.3: the error goes into the WWW-Authenticate challenge as well.
    const unauthorized = (error: string, description: string) =>
      c.json({ error, error_description: description }, 401, {
        "WWW-Authenticate": `Bearer realm="${realm.name}", error="${error}", error_description="${description}"`,
      });
    if (!state.active) {
      switch (state.reason) {
        case "client":
          return c.json({ error: "invalid_request", error_description: "Client not found" }, 400);
        case "no_session":
          return unauthorized(
            "invalid_request",
            "User session not found or doesn't have client attached on it",
          );
        case "session_expired":
          return unauthorized("invalid_token", "Session expired");
        default:
          return unauthorized("invalid_token", "Token verification failed");
      }
    }
    return c.json({ sub: state.user.id, ...profileClaims(state.user) }, 200, {
      "Cache-Control": "no-cache",
    });
  };

  app.get(path, (c) => userinfo(c, false));
  app.post(path, (c) => userinfo(c, true));
}
