import { base64url, compactVerify, type JWTHeaderParameters, SignJWT } from "jose";
import {
  type ClientRecord,
  DEFAULT_ACCOUNT_ROLES,
  defaultRealmRoles,
  findClientByClientId,
  type IdpStore,
  type RealmRecord,
  type SessionRecord,
  type UserRecord,
} from "./store";

export type Claims = Record<string, unknown>;

/** What a grant produced: who, through which client, in which session (none for services). */
export interface Grant {
  realm: RealmRecord;
  client: ClientRecord;
  user: UserRecord;
  session: SessionRecord | null;
  scope: string;
}

/** The token endpoint's answer, keys in Keycloak's order. */
export interface TokenResponseBody {
  access_token: string;
  expires_in: number;
  refresh_expires_in: number;
  refresh_token?: string;
  token_type: "Bearer";
  id_token?: string;
  "not-before-policy": number;
  session_state?: string;
  scope: string;
}

export function hasOpenIdScope(scope: string): boolean {
  return scope.split(" ").includes("openid");
}

export async function issueTokens(store: IdpStore, grant: Grant): Promise<TokenResponseBody> {
  const { realm, client, user, session, scope } = grant;
  const iat = store.nowSeconds();
  const issuer = store.issuer(realm);
  const accessExp = iat + store.settings.accessTokenLifespan;
  const access = accessTokenClaims(store, grant, iat, accessExp);
  const accessToken = await signWithRealmKey(realm, access);

  const body: TokenResponseBody = {
    access_token: accessToken,
    expires_in: accessExp - iat,
    refresh_expires_in: 0,
    token_type: "Bearer",
    "not-before-policy": 0,
    scope,
  };
  // Client credentials carry no session in Keycloak 26, hence no refresh token by default.
  if (session) {
    const refreshExp = store.sessionExpiry(session);
    body.refresh_expires_in = refreshExp - iat;
    body.refresh_token = await signWithHmacKey(realm, {
      exp: refreshExp,
      iat,
      jti: crypto.randomUUID(),
      iss: issuer,
      aud: issuer,
      sub: user.id,
      typ: "Refresh",
      azp: client.clientId,
      sid: session.id,
      scope,
    });
  }
  if (hasOpenIdScope(scope)) {
    body.id_token = await signWithRealmKey(realm, {
      exp: accessExp,
      iat,
      ...(session ? { auth_time: session.started } : {}),
      jti: crypto.randomUUID(),
      iss: issuer,
      aud: client.clientId,
      sub: user.id,
      typ: "ID",
      azp: client.clientId,
      ...(session ? { sid: session.id } : {}),
      at_hash: await accessTokenHash(accessToken),
      acr: "1",
      ...profileClaims(user),
    });
  }
  // The token response still names the session (Keycloak 25+ no longer puts it in the tokens).
  if (session) body.session_state = session.id;
  return body;
}

function accessTokenClaims(store: IdpStore, grant: Grant, iat: number, exp: number): Claims {
  const { realm, client, user, session, scope } = grant;
  const resourceAccess = resourceAccessOf(user);
  // Keycloak puts every client the user holds roles of into `aud` (hence "account"); the
  // client's own audience first, as an Audience mapper on the client would.
  const audiences = [
    client.audience,
    ...Object.keys(resourceAccess).filter((id) => id !== client.clientId),
  ].filter((id, index, all) => all.indexOf(id) === index);
  const claims: Claims = {
    exp,
    iat,
    ...(session ? { auth_time: session.started } : {}),
    jti: crypto.randomUUID(),
    iss: store.issuer(realm),
    aud: audiences.length === 1 ? audiences[0] : audiences,
    sub: user.id,
    typ: "Bearer",
    azp: client.clientId,
    ...(session ? { sid: session.id } : {}),
    acr: "1",
    realm_access: { roles: realmRolesOf(realm, user) },
    resource_access: resourceAccess,
    scope,
    ...profileClaims(user),
  };
  if (user.serviceAccountClientId) {
    // Keycloak's service-account client scope adds these three.
    claims.client_id = client.clientId;
    claims.clientHost = "127.0.0.1";
    claims.clientAddress = "127.0.0.1";
  }
  return claims;
}

export function realmRolesOf(realm: RealmRecord, user: UserRecord): string[] {
  return [...new Set([...defaultRealmRoles(realm.name), ...user.realmRoles])];
}

function resourceAccessOf(user: UserRecord): Record<string, { roles: string[] }> {
  const access: Record<string, { roles: string[] }> = {
    account: { roles: [...DEFAULT_ACCOUNT_ROLES] },
  };
  for (const [clientId, roles] of user.clientRoles) {
    if (roles.size > 0) access[clientId] = { roles: [...roles] };
  }
  return access;
}

/** The claims of Keycloak's `profile` and `email` default scopes, absent when unset. */
export function profileClaims(user: UserRecord): Claims {
  const name = [user.firstName, user.lastName].filter(Boolean).join(" ");
  return {
    email_verified: user.emailVerified,
    ...(name ? { name } : {}),
    preferred_username: user.username,
    ...(user.firstName ? { given_name: user.firstName } : {}),
    ...(user.lastName ? { family_name: user.lastName } : {}),
    ...(user.email ? { email: user.email } : {}),
  };
}

/** OpenID Connect `at_hash`: the left half of SHA-256 of the access token, base64url. */
async function accessTokenHash(accessToken: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(accessToken)),
  );
  return base64url.encode(digest.slice(0, digest.length / 2));
}

export async function signWithRealmKey(realm: RealmRecord, claims: Claims): Promise<string> {
  const key = realm.signingKeys.at(-1);
  if (!key) throw new Error(`Realm ${realm.name} has no signing key`);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: key.kid })
    .sign(key.privateKey);
}

export async function signWithHmacKey(realm: RealmRecord, claims: Claims): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS512", typ: "JWT", kid: realm.hmacKey.kid })
    .sign(realm.hmacKey.key);
}

/** The claims of a token signed by one of the realm's RSA keys, or null for anything else. */
export async function readRealmSignedToken(
  store: IdpStore,
  realm: RealmRecord,
  token: string,
): Promise<Claims | null> {
  const claims = await verifiedClaims(token, "RS256", (header) => {
    return realm.signingKeys.find((key) => key.kid === header.kid)?.publicKey;
  });
  return claims && claims.iss === store.issuer(realm) ? claims : null;
}

/** The claims of a token signed with the realm's HMAC key (refresh and action tokens). */
export async function readHmacSignedToken(
  store: IdpStore,
  realm: RealmRecord,
  token: string,
): Promise<Claims | null> {
  const claims = await verifiedClaims(token, "HS512", (header) =>
    header.kid === realm.hmacKey.kid ? realm.hmacKey.key : undefined,
  );
  return claims && claims.iss === store.issuer(realm) ? claims : null;
}

async function verifiedClaims(
  token: string,
  algorithm: "RS256" | "HS512",
  keyFor: (header: JWTHeaderParameters) => CryptoKey | undefined,
): Promise<Claims | null> {
  try {
    const { payload } = await compactVerify(
      token,
      async (header) => {
        const key = keyFor(header);
        if (!key) throw new Error("no such key");
        return key;
      },
      { algorithms: [algorithm] },
    );
    const claims: unknown = JSON.parse(new TextDecoder().decode(payload));
    return isClaims(claims) ? claims : null;
  } catch {
    // A bad signature, an unknown key, a malformed token: all the same to the caller.
    return null;
  }
}

function isClaims(value: unknown): value is Claims {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function stringClaim(claims: Claims, name: string): string | undefined {
  const value = claims[name];
  return typeof value === "string" ? value : undefined;
}

export function numberClaim(claims: Claims, name: string): number | undefined {
  const value = claims[name];
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

export type AccessTokenState =
  | {
      active: true;
      claims: Claims;
      user: UserRecord;
      client: ClientRecord;
      session: SessionRecord | null;
    }
  | {
      active: false;
      reason: "invalid" | "expired" | "no_session" | "session_expired" | "client" | "user";
    };

/**
 * What Keycloak checks before it trusts an access token (introspection, userinfo, admin REST):
 * signature by a current realm key, issuer, type, expiry, an enabled client and user, and for
 * user tokens a live session that started before the token was issued.
 */
export async function checkAccessToken(
  store: IdpStore,
  realm: RealmRecord,
  token: string,
): Promise<AccessTokenState> {
  const claims = await readRealmSignedToken(store, realm, token);
  if (claims?.typ !== "Bearer") return { active: false, reason: "invalid" };
  const exp = numberClaim(claims, "exp");
  if (exp === undefined || exp <= store.nowSeconds()) return { active: false, reason: "expired" };

  const azp = stringClaim(claims, "azp");
  const client = azp === undefined ? undefined : findClientByClientId(realm, azp);
  if (!client?.enabled) return { active: false, reason: "client" };
  const sub = stringClaim(claims, "sub");
  const user = sub === undefined ? undefined : realm.users.get(sub);
  if (!user?.enabled) return { active: false, reason: "user" };

  const sid = stringClaim(claims, "sid");
  if (sid === undefined) {
    // Only service accounts get session-less (Keycloak: transient) tokens.
    if (!user.serviceAccountClientId) return { active: false, reason: "no_session" };
    return { active: true, claims, user, client, session: null };
  }
  const session = realm.sessions.get(sid);
  if (!session || session.userId !== user.id) return { active: false, reason: "no_session" };
  if (!store.isSessionActive(session)) return { active: false, reason: "session_expired" };
  const iat = numberClaim(claims, "iat") ?? 0;
  // Keycloak's "stale token" rule: a token older than its session cannot belong to it.
  if (iat + 1 < session.started) return { active: false, reason: "no_session" };
  return { active: true, claims, user, client, session };
}
