import type { Hono } from "hono";
import { authenticateClient } from "../client-auth";
import { hasDuplicatedParameter, oauthError, readForm } from "../http";
import type { IdpStore, RealmRecord } from "../store";
import {
  type Claims,
  checkAccessToken,
  numberClaim,
  readHmacSignedToken,
  stringClaim,
} from "../tokens";
import { realmDoesNotExist, realmOf } from "./realm";

const TOKEN_TYPE_HINTS = ["access_token", "refresh_token", "requesting_party_token"];

/** RFC 7662 as Keycloak implements it, for confidential clients only. */
export function registerIntrospectionRoutes(app: Hono, store: IdpStore): void {
  app.post("/realms/:realm/protocol/openid-connect/token/introspect", async (c) => {
    const realm = realmOf(c, store);
    if (!realm) return realmDoesNotExist(c);
    if (!realm.enabled) return oauthError(c, 403, "access_denied", "Realm not enabled");
    const form = await readForm(c);
    const auth = authenticateClient(realm, form, c.req.header("authorization"));
    // Keycloak replaces every client authentication failure here with this one answer.
    if (!auth.ok) return oauthError(c, 401, "invalid_request", "Authentication failed.");
    if (auth.client.publicClient)
      return oauthError(c, 403, "invalid_request", "Client not allowed.");
    if (hasDuplicatedParameter(form)) {
      return oauthError(c, 400, "invalid_request", "duplicated parameter");
    }
    const token = form.get("token");
    if (token === null) return oauthError(c, 400, "invalid_request", "Token not provided.");
    const hint = form.get("token_type_hint") ?? "access_token";
    if (!TOKEN_TYPE_HINTS.includes(hint)) {
      return oauthError(c, 400, "invalid_request", "Unsupported token type.");
    }
    const result = (await introspectAccessToken(store, realm, token)) ??
      (await introspectRefreshToken(store, realm, token)) ?? { active: false };
    return c.json(result, 200, { "Cache-Control": "no-cache" });
  });
}

async function introspectAccessToken(
  store: IdpStore,
  realm: RealmRecord,
  token: string,
): Promise<Claims | null> {
  const state = await checkAccessToken(store, realm, token);
  if (!state.active) return null;
  return {
    ...state.claims,
    client_id: state.client.clientId,
    username: state.user.username,
    token_type: "Bearer",
    active: true,
  };
}

/** Refresh tokens introspect too: active while their session lives. */
async function introspectRefreshToken(
  store: IdpStore,
  realm: RealmRecord,
  token: string,
): Promise<Claims | null> {
  const claims = await readHmacSignedToken(store, realm, token);
  if (claims?.typ !== "Refresh") return null;
  if ((numberClaim(claims, "exp") ?? 0) <= store.nowSeconds()) return null;
  const sid = stringClaim(claims, "sid");
  const session = sid === undefined ? undefined : realm.sessions.get(sid);
  if (!session || !store.isSessionActive(session)) return null;
  const user = realm.users.get(session.userId);
  if (!user?.enabled || user.id !== claims.sub) return null;
  return {
    ...claims,
    client_id: stringClaim(claims, "azp"),
    username: user.username,
    token_type: "Refresh",
    active: true,
  };
}
