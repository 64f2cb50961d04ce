import type { Context, Hono } from "hono";
import { authenticateClient, type ClientAuthentication } from "../client-auth";
import { hasDuplicatedParameter, NO_STORE, oauthError, readForm } from "../http";
import { verifyPassword } from "../passwords";
import {
  type ClientRecord,
  findUserByUsernameOrEmail,
  type IdpStore,
  type RealmRecord,
  type SessionRecord,
} from "../store";
import { issueTokens, numberClaim, readHmacSignedToken, stringClaim } from "../tokens";
import { SUPPORTED_SCOPES } from "./discovery";
import { realmDoesNotExist, realmOf } from "./realm";

const GRANT_TYPES = ["password", "refresh_token", "client_credentials"] as const;
type GrantType = (typeof GRANT_TYPES)[number];

export function registerTokenRoutes(app: Hono, store: IdpStore): void {
  app.post("/realms/:realm/protocol/openid-connect/token", async (c) => {
    const realm = realmOf(c, store);
    if (!realm) return realmDoesNotExist(c);
    const form = await readForm(c);
    // Keycloak's order: realm, grant type, client authentication, duplicated parameters.
    if (!realm.enabled) return oauthError(c, 403, "access_denied", "Realm not enabled", NO_STORE);
    const grantType = form.get("grant_type");
    if (grantType === null) {
      return oauthError(c, 400, "invalid_request", "Missing form parameter: grant_type", NO_STORE);
    }
    if (!isGrantType(grantType)) {
      return oauthError(c, 400, "unsupported_grant_type", "Unsupported grant_type", NO_STORE);
    }
    const auth = authenticateClient(realm, form, c.req.header("authorization"));
    if (!auth.ok) return clientAuthenticationFailure(c, auth);
    if (hasDuplicatedParameter(form)) {
      return oauthError(c, 400, "invalid_request", "duplicated parameter", NO_STORE);
    }
    const grant = { c, store, realm, client: auth.client, form };
    switch (grantType) {
      case "password":
        return passwordGrant(grant);
      case "refresh_token":
        return refreshTokenGrant(grant);
      case "client_credentials":
        return clientCredentialsGrant(grant);
    }
  });
}

interface GrantRequest {
  c: Context;
  store: IdpStore;
  realm: RealmRecord;
  client: ClientRecord;
  form: URLSearchParams;
}

function isGrantType(value: string): value is GrantType {
  return (GRANT_TYPES as readonly string[]).includes(value);
}

export function clientAuthenticationFailure(
  c: Context,
  auth: Extract<ClientAuthentication, { ok: false }>,
): Response {
  if (!auth.body) return c.body(null, auth.status, auth.headers);
  return c.json(auth.body, auth.status, { ...auth.headers, ...NO_STORE });
}

async function passwordGrant({ c, store, realm, client, form }: GrantRequest): Promise<Response> {
  if (!client.directAccessGrantsEnabled) {
    return oauthError(
      c,
      400,
      "unauthorized_client",
      "Client not allowed for direct access grants",
      NO_STORE,
    );
  }
  const scope = grantedScope(form.get("scope"));
  if (scope === null) return invalidScope(c, form.get("scope") ?? "");
  const username = form.get("username");
  if (username === null) {
    return oauthError(c, 401, "invalid_request", "Missing parameter: username", NO_STORE);
  }
  const password = form.get("password") ?? "";
  const user = findUserByUsernameOrEmail(realm, username);
  if (!user || user.serviceAccountClientId) {
    await verifyPassword(password, undefined);
    return oauthError(c, 401, "invalid_grant", "Invalid user credentials", NO_STORE);
  }
  if (!user.enabled) return oauthError(c, 400, "invalid_grant", "Account disabled", NO_STORE);
  if (!(await verifyPassword(password, user.password))) {
    return oauthError(c, 401, "invalid_grant", "Invalid user credentials", NO_STORE);
  }
  if (user.requiredActions.size > 0) {
    return oauthError(c, 400, "invalid_grant", "Account is not fully set up", NO_STORE);
  }
  const now = store.nowSeconds();
  const session: SessionRecord = {
    id: crypto.randomUUID(),
    userId: user.id,
    clientId: client.clientId,
    started: now,
    lastRefresh: now,
    scope,
  };
  realm.sessions.set(session.id, session);
  const body = await issueTokens(store, { realm, client, user, session, scope });
  return c.json(body, 200, NO_STORE);
}

async function refreshTokenGrant({ c, store, realm, client, form }: GrantRequest) {
  const token = form.get("refresh_token");
  if (token === null) {
    return oauthError(c, 400, "invalid_request", "Missing parameter: refresh_token", NO_STORE);
  }
  const claims = await readHmacSignedToken(store, realm, token);
  if (claims?.typ !== "Refresh") {
    return oauthError(c, 400, "invalid_grant", "Invalid refresh token", NO_STORE);
  }
  if ((numberClaim(claims, "exp") ?? 0) <= store.nowSeconds()) {
    return oauthError(c, 400, "invalid_grant", "Token is not active", NO_STORE);
  }
  if (stringClaim(claims, "azp") !== client.clientId) {
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
  if (!session || !store.isSessionActive(session) || session.userId !== claims.sub) {
    return oauthError(c, 400, "invalid_grant", "Session not active", NO_STORE);
  }
  const user = realm.users.get(session.userId);
  if (!user) return oauthError(c, 400, "invalid_grant", "Unknown user", NO_STORE);
  if (!user.enabled) return oauthError(c, 400, "invalid_grant", "User disabled", NO_STORE);
  if ((numberClaim(claims, "iat") ?? 0) + 1 < session.started) {
    return oauthError(c, 400, "invalid_grant", "Stale token", NO_STORE);
  }
  // Keycloak's default ("Revoke Refresh Token" off): the old refresh token stays usable until
  // it expires or its session ends; each refresh also extends the session's idle timeout.
  session.lastRefresh = store.nowSeconds();
  const body = await issueTokens(store, { realm, client, user, session, scope: session.scope });
  return c.json(body, 200, NO_STORE);
}

async function clientCredentialsGrant({ c, store, realm, client, form }: GrantRequest) {
  if (client.publicClient) {
    return oauthError(
      c,
      401,
      "unauthorized_client",
      "Public client not allowed to retrieve service account",
      NO_STORE,
    );
  }
  const user = client.serviceAccountUserId
    ? realm.users.get(client.serviceAccountUserId)
    : undefined;
  if (!client.serviceAccountsEnabled || !user) {
    return oauthError(
      c,
      400,
      "unauthorized_client",
      "Client not enabled to retrieve service account",
      NO_STORE,
    );
  }
  if (!user.enabled) {
    return oauthError(c, 401, "invalid_request", `User '${user.username}' disabled`, NO_STORE);
  }
  const scope = grantedScope(form.get("scope"));
  if (scope === null) return invalidScope(c, form.get("scope") ?? "");
  const body = await issueTokens(store, { realm, client, user, session: null, scope });
  return c.json(body, 200, NO_STORE);
}

/**
 * The `scope` Keycloak grants: `openid` when asked for, then the default scopes that name
 * themselves in tokens (`email profile`). Null when an unknown scope was asked for.
 */
function grantedScope(requested: string | null): string | null {
  const asked = (requested ?? "").split(/\s+/).filter(Boolean);
  if (asked.some((scope) => !SUPPORTED_SCOPES.includes(scope))) return null;
  return [...(asked.includes("openid") ? ["openid"] : []), "email", "profile"].join(" ");
}

function invalidScope(c: Context, requested: string): Response {
  return oauthError(c, 400, "invalid_scope", `Invalid scopes: ${requested}`, NO_STORE);
}
