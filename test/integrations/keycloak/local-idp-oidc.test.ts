import { decodeJwt, decodeProtectedHeader } from "jose";
import { beforeEach, describe, expect, it } from "vitest";
import { createLocalIdentityProvider } from "../../../src/integrations/keycloak/local-idp";
import { ALICE, API_CLIENT, BASE_URL, createFixture, type Fixture, json } from "./fixture";

let f: Fixture;

beforeEach(async () => {
  f = await createFixture();
});

const apiClient = { client_id: API_CLIENT.clientId, client_secret: API_CLIENT.clientSecret };

function passwordForm(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    grant_type: "password",
    ...apiClient,
    username: ALICE.username,
    password: ALICE.password,
    scope: "openid",
    ...overrides,
  };
}

function basic(id: string, secret: string): string {
  const encode = (text: string) => encodeURIComponent(text).replace(/%20/g, "+");
  return `Basic ${btoa(`${encode(id)}:${encode(secret)}`)}`;
}

describe("discovery", () => {
  it("publishes Keycloak's document with this realm's issuer and endpoints", async () => {
    const response = await f.get(`/realms/${f.realm}/.well-known/openid-configuration`);
    expect(response.status).toBe(200);
    const doc = await json(response);
    const issuer = `${BASE_URL}/realms/${f.realm}`;
    expect(doc).toMatchObject({
      issuer,
      token_endpoint: `${issuer}/protocol/openid-connect/token`,
      introspection_endpoint: `${issuer}/protocol/openid-connect/token/introspect`,
      userinfo_endpoint: `${issuer}/protocol/openid-connect/userinfo`,
      end_session_endpoint: `${issuer}/protocol/openid-connect/logout`,
      jwks_uri: `${issuer}/protocol/openid-connect/certs`,
      id_token_signing_alg_values_supported: ["RS256"],
      subject_types_supported: ["public"],
    });
    expect(doc.grant_types_supported).toEqual(
      expect.arrayContaining(["password", "refresh_token", "client_credentials"]),
    );
    expect(doc.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(["client_secret_basic", "client_secret_post"]),
    );
  });

  it("is reachable through the client", async () => {
    const doc = await f.keycloak.openidConfiguration(f.realm);
    expect(doc.issuer).toBe(`${BASE_URL}/realms/${f.realm}`);
    expect(f.keycloak.endpoints(f.realm).jwksUri).toBe(doc.jwks_uri);
  });

  it.each([
    ["an unknown realm", "nosuchrealm"],
    ["an encoded slash", "master%2Fx"],
    ["a space", "a%20b"],
    ["a name over 64 characters", "r".repeat(65)],
  ])("answers 404 Realm does not exist for %s", async (_case, realm) => {
    const response = await f.get(`/realms/${realm}/.well-known/openid-configuration`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: "Realm does not exist" });
    const token = await f.post(`/realms/${realm}/protocol/openid-connect/token`, passwordForm());
    expect(token.status).toBe(404);
  });
});

describe("password grant", () => {
  it("answers Keycloak's token response, not cacheable", async () => {
    const response = await f.post(f.oidc("token"), passwordForm());
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("pragma")).toBe("no-cache");
    const body = await json(response);
    expect(Object.keys(body)).toEqual([
      "access_token",
      "expires_in",
      "refresh_expires_in",
      "token_type",
      "not-before-policy",
      "scope",
      "refresh_token",
      "id_token",
      "session_state",
    ]);
    expect(body).toMatchObject({
      expires_in: 300,
      refresh_expires_in: 1800,
      token_type: "Bearer",
      "not-before-policy": 0,
      scope: "openid email profile",
    });
  });

  it("issues an RS256 access token that verifies against the realm's JWKS", async () => {
    const body = await f.login();
    const header = decodeProtectedHeader(body.access_token);
    expect(header).toEqual({ alg: "RS256", typ: "JWT", kid: f.idp.admin.activeKid(f.realm) });
    const { payload } = await f.verify(body.access_token);
    const now = Math.floor(f.clock.now() / 1000);
    expect(payload).toMatchObject({
      iss: `${BASE_URL}/realms/${f.realm}`,
      aud: [API_CLIENT.clientId, "account"],
      sub: f.alice.id,
      typ: "Bearer",
      azp: API_CLIENT.clientId,
      sid: body.session_state,
      iat: now,
      auth_time: now,
      exp: now + 300,
      scope: "openid email profile",
      email_verified: true,
      name: "Alice Liddell",
      preferred_username: "alice",
      given_name: "Alice",
      family_name: "Liddell",
      email: "alice@example.com",
      resource_access: {
        account: { roles: ["manage-account", "manage-account-links", "view-profile"] },
      },
    });
    expect(payload.jti).toEqual(expect.any(String));
    expect((payload.realm_access as { roles: string[] }).roles).toEqual(
      expect.arrayContaining([`default-roles-${f.realm}`, "offline_access", "uma_authorization"]),
    );
    // Keycloak 25+ no longer puts session_state into tokens; sid carries the session.
    expect(payload.session_state).toBeUndefined();
  });

  it("issues an ID token of type ID for the client, and an HS512 refresh token", async () => {
    const body = await f.login();
    const { payload: id } = await f.verify(body.id_token ?? "");
    expect(id).toMatchObject({
      typ: "ID",
      aud: API_CLIENT.clientId,
      azp: API_CLIENT.clientId,
      sub: f.alice.id,
      sid: body.session_state,
      email: ALICE.email,
    });
    expect(id.at_hash).toEqual(expect.any(String));
    expect(decodeProtectedHeader(body.refresh_token ?? "").alg).toBe("HS512");
    expect(decodeJwt(body.refresh_token ?? "")).toMatchObject({
      typ: "Refresh",
      azp: API_CLIENT.clientId,
      sid: body.session_state,
      aud: `${BASE_URL}/realms/${f.realm}`,
    });
  });

  it("gives no ID token without the openid scope", async () => {
    const body = await json(await f.post(f.oidc("token"), passwordForm({ scope: "" })));
    expect(body.id_token).toBeUndefined();
    expect(body.scope).toBe("email profile");
  });

  it("accepts the email address as login, case-insensitively", async () => {
    const response = await f.post(f.oidc("token"), passwordForm({ username: "ALICE@example.com" }));
    expect(response.status).toBe(200);
  });

  it("authenticates the client with HTTP Basic (client_secret_basic)", async () => {
    const idp = f.idp;
    idp.admin.createClient(f.realm, {
      clientId: "with space",
      secret: "s3cr:t+/=",
      directAccessGrantsEnabled: true,
    });
    const { client_id: _id, client_secret: _secret, ...form } = passwordForm();
    const response = await f.post(f.oidc("token"), form, {
      Authorization: basic("with space", "s3cr:t+/="),
    });
    expect(response.status).toBe(200);
  });

  describe("refusals, answered exactly as Keycloak does", () => {
    it.each([
      ["a wrong password", { password: "wrong" }, 401, "invalid_grant", "Invalid user credentials"],
      [
        "an unknown user",
        { username: "mallory" },
        401,
        "invalid_grant",
        "Invalid user credentials",
      ],
      [
        "a wrong client secret",
        { client_secret: "wrong" },
        401,
        "unauthorized_client",
        "Invalid client or Invalid client credentials",
      ],
      [
        "an unknown client",
        { client_id: "nope" },
        401,
        "invalid_client",
        "Invalid client or Invalid client credentials",
      ],
      ["an empty username", { username: "" }, 401, "invalid_grant", "Invalid user credentials"],
      [
        "an unknown scope",
        { scope: "openid admin" },
        400,
        "invalid_scope",
        "Invalid scopes: openid admin",
      ],
    ])("refuses %s", async (_case, overrides, status, error, description) => {
      const response = await f.post(f.oidc("token"), passwordForm(overrides));
      expect(response.status).toBe(status);
      expect(await response.json()).toEqual({ error, error_description: description });
    });

    it("refuses a disabled user with 400 Account disabled", async () => {
      f.idp.admin.setUserEnabled(f.realm, f.alice.id, false);
      const response = await f.post(f.oidc("token"), passwordForm());
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: "invalid_grant",
        error_description: "Account disabled",
      });
    });

    it("refuses a user with a pending required action (temporary password)", async () => {
      await f.idp.admin.setPassword(f.realm, f.alice.id, "temporary-1", { temporary: true });
      const response = await f.post(f.oidc("token"), passwordForm({ password: "temporary-1" }));
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: "invalid_grant",
        error_description: "Account is not fully set up",
      });
    });

    it("refuses a client without direct access grants", async () => {
      f.idp.admin.createClient(f.realm, { clientId: "web", secret: "web-secret" });
      const response = await f.post(
        f.oidc("token"),
        passwordForm({ client_id: "web", client_secret: "web-secret" }),
      );
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: "unauthorized_client",
        error_description: "Client not allowed for direct access grants",
      });
    });

    it("refuses the service-account user as a login", async () => {
      const response = await f.post(
        f.oidc("token"),
        passwordForm({ username: `service-account-${API_CLIENT.clientId}` }),
      );
      expect(response.status).toBe(401);
    });

    it("refuses a request without username", async () => {
      const { username: _username, ...form } = passwordForm();
      const response = await f.post(f.oidc("token"), form);
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({
        error: "invalid_request",
        error_description: "Missing parameter: username",
      });
    });

    it("refuses a request without client_id", async () => {
      const { client_id: _id, client_secret: _secret, ...form } = passwordForm();
      const response = await f.post(f.oidc("token"), form);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: "invalid_client",
        error_description: "Missing client_id parameter",
      });
    });

    it("answers a non-Basic Authorization header without client_id with a Basic challenge", async () => {
      const { client_id: _id, client_secret: _secret, ...form } = passwordForm();
      const response = await f.post(f.oidc("token"), form, { Authorization: "Bearer abc" });
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toBe(`Basic realm="${f.realm}"`);
      expect(await response.text()).toBe("");
    });

    it.each([
      [{}, "invalid_request", "Missing form parameter: grant_type"],
      [{ grant_type: "authorization_code" }, "unsupported_grant_type", "Unsupported grant_type"],
      [{ grant_type: "magic" }, "unsupported_grant_type", "Unsupported grant_type"],
    ])("refuses grant type %j", async (form, error, description) => {
      const response = await f.post(f.oidc("token"), { ...apiClient, ...form });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error, error_description: description });
    });

    it("refuses a duplicated parameter", async () => {
      const body = `${new URLSearchParams(passwordForm())}&scope=openid`;
      const response = await f.idp.app.request(`${BASE_URL}${f.oidc("token")}`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body,
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: "invalid_request",
        error_description: "duplicated parameter",
      });
    });
  });
});

describe("refresh token grant", () => {
  const refreshForm = (refreshToken: string, overrides: Record<string, string> = {}) => ({
    grant_type: "refresh_token",
    ...apiClient,
    refresh_token: refreshToken,
    ...overrides,
  });

  it("issues new tokens in the same session and leaves the old refresh token usable", async () => {
    const first = await f.login();
    f.clock.advance(60);
    const response = await f.post(f.oidc("token"), refreshForm(first.refresh_token ?? ""));
    expect(response.status).toBe(200);
    const second = (await response.json()) as typeof first;
    expect(second.session_state).toBe(first.session_state);
    expect(second.access_token).not.toBe(first.access_token);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.id_token).toEqual(expect.any(String));
    // Keycloak's default: "Revoke Refresh Token" is off, a refresh token may be reused.
    const again = await f.post(f.oidc("token"), refreshForm(first.refresh_token ?? ""));
    expect(again.status).toBe(200);
  });

  it("keeps the session alive while it is refreshed within the idle timeout", async () => {
    let tokens = await f.login();
    for (let i = 0; i < 3; i++) {
      f.clock.advance(1500);
      const response = await f.post(f.oidc("token"), refreshForm(tokens.refresh_token ?? ""));
      expect(response.status).toBe(200);
      tokens = (await response.json()) as typeof tokens;
      expect(tokens.refresh_expires_in).toBe(1800);
    }
  });

  it("refuses a refresh token past its expiry with Token is not active", async () => {
    const tokens = await f.login();
    f.clock.advance(1801);
    const response = await f.post(f.oidc("token"), refreshForm(tokens.refresh_token ?? ""));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: "invalid_grant",
      error_description: "Token is not active",
    });
  });

  it("refuses a refresh token of an ended session with Session not active", async () => {
    const tokens = await f.login();
    f.idp.admin.revokeUserSessions(f.realm, f.alice.id);
    const response = await f.post(f.oidc("token"), refreshForm(tokens.refresh_token ?? ""));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: "invalid_grant",
      error_description: "Session not active",
    });
  });

  it("refuses a refresh token issued to another client", async () => {
    f.idp.admin.createClient(f.realm, { clientId: "other", secret: "other-secret" });
    const tokens = await f.login();
    const response = await f.post(
      f.oidc("token"),
      refreshForm(tokens.refresh_token ?? "", {
        client_id: "other",
        client_secret: "other-secret",
      }),
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: "invalid_grant",
      error_description: "Invalid refresh token. Token client and authorized client don't match",
    });
  });

  it.each([
    ["garbage", () => Promise.resolve("not-a-token")],
    ["an access token", async () => (await f.login()).access_token],
  ])("refuses %s as a refresh token", async (_case, token) => {
    const response = await f.post(f.oidc("token"), refreshForm(await token()));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: "invalid_grant",
      error_description: "Invalid refresh token",
    });
  });

  it("refuses a missing refresh token and a user disabled since login", async () => {
    const missing = await f.post(f.oidc("token"), { grant_type: "refresh_token", ...apiClient });
    expect(await missing.json()).toEqual({
      error: "invalid_request",
      error_description: "Missing parameter: refresh_token",
    });
    const tokens = await f.login();
    f.idp.admin.setUserEnabled(f.realm, f.alice.id, false);
    const disabled = await f.post(f.oidc("token"), refreshForm(tokens.refresh_token ?? ""));
    expect(await disabled.json()).toEqual({
      error: "invalid_grant",
      error_description: "User disabled",
    });
  });
});

describe("client credentials grant", () => {
  it("issues a session-less service-account token without refresh token", async () => {
    const response = await f.post(f.oidc("token"), {
      grant_type: "client_credentials",
      ...apiClient,
    });
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body.refresh_token).toBeUndefined();
    expect(body.session_state).toBeUndefined();
    expect(body).toMatchObject({ refresh_expires_in: 0, token_type: "Bearer", expires_in: 300 });
    const { payload } = await f.verify(body.access_token as string);
    expect(payload).toMatchObject({
      typ: "Bearer",
      azp: API_CLIENT.clientId,
      client_id: API_CLIENT.clientId,
      preferred_username: `service-account-${API_CLIENT.clientId}`,
      sub: f.client.serviceAccountUserId,
    });
    expect(payload.sid).toBeUndefined();
  });

  it("refuses a client without service account and a public client", async () => {
    f.idp.admin.createClient(f.realm, { clientId: "plain", secret: "plain-secret" });
    const plain = await f.post(f.oidc("token"), {
      grant_type: "client_credentials",
      client_id: "plain",
      client_secret: "plain-secret",
    });
    expect(plain.status).toBe(400);
    expect(await plain.json()).toEqual({
      error: "unauthorized_client",
      error_description: "Client not enabled to retrieve service account",
    });
    const spa = await f.post(f.oidc("token"), {
      grant_type: "client_credentials",
      client_id: "admin-cli",
    });
    expect(spa.status).toBe(401);
    expect(await spa.json()).toEqual({
      error: "unauthorized_client",
      error_description: "Public client not allowed to retrieve service account",
    });
  });
});

describe("introspection", () => {
  const introspect = (token: string, auth: Record<string, string> = apiClient) =>
    f.post(f.oidc("token/introspect"), { ...auth, token });

  it("describes an active access token with its claims, client_id, username, token_type", async () => {
    const tokens = await f.login();
    const response = await introspect(tokens.access_token);
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body).toMatchObject({
      active: true,
      client_id: API_CLIENT.clientId,
      username: ALICE.username,
      token_type: "Bearer",
      sub: f.alice.id,
      sid: tokens.session_state,
      typ: "Bearer",
      iss: `${BASE_URL}/realms/${f.realm}`,
      scope: "openid email profile",
    });
  });

  it("accepts the client's credentials as HTTP Basic", async () => {
    const tokens = await f.login();
    const response = await f.post(
      f.oidc("token/introspect"),
      { token: tokens.access_token },
      { Authorization: basic(API_CLIENT.clientId, API_CLIENT.clientSecret) },
    );
    expect(await json(response)).toMatchObject({ active: true });
  });

  it.each([
    [
      "expired",
      async () => {
        const { access_token } = await f.login();
        f.clock.advance(301);
        return access_token;
      },
    ],
    [
      "revoked by logout",
      async () => {
        const tokens = await f.login();
        await f.post(f.oidc("logout"), { ...apiClient, refresh_token: tokens.refresh_token ?? "" });
        return tokens.access_token;
      },
    ],
    [
      "of a user whose sessions the admin ended",
      async () => {
        const { access_token } = await f.login();
        f.idp.admin.revokeUserSessions(f.realm, f.alice.id);
        return access_token;
      },
    ],
    [
      "of a disabled user",
      async () => {
        const { access_token } = await f.login();
        f.idp.admin.setUserEnabled(f.realm, f.alice.id, false);
        return access_token;
      },
    ],
    ["garbage", async () => "garbage"],
    [
      "tampered with",
      async () => {
        const { access_token } = await f.login();
        const [header, payload, signature] = access_token.split(".");
        const claims = { ...decodeJwt(access_token), sub: "someone-else" };
        const forged = btoa(JSON.stringify(claims))
          .replace(/=+$/, "")
          .replace(/\+/g, "-")
          .replace(/\//g, "_");
        expect(forged).not.toBe(payload);
        return `${header}.${forged}.${signature}`;
      },
    ],
    ["an ID token", async () => (await f.login()).id_token ?? ""],
  ])("says only active:false for a token %s", async (_case, token) => {
    const response = await introspect(await token());
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ active: false });
  });

  it("says active:false for a token of another realm", async () => {
    const other = `o-${f.realm}`;
    await f.idp.admin.createRealm({ realm: other });
    f.idp.admin.createClient(other, {
      clientId: API_CLIENT.clientId,
      secret: API_CLIENT.clientSecret,
      directAccessGrantsEnabled: true,
    });
    await f.idp.admin.createUser(other, { username: "alice", password: ALICE.password });
    const response = await f.post(f.oidc("token", other), passwordForm());
    const token = ((await response.json()) as { access_token: string }).access_token;
    expect(await (await introspect(token)).json()).toEqual({ active: false });
  });

  it("introspects refresh tokens too, as type Refresh", async () => {
    const tokens = await f.login();
    const body = await json(await introspect(tokens.refresh_token ?? ""));
    expect(body).toMatchObject({ active: true, token_type: "Refresh", typ: "Refresh" });
  });

  it("requires an authenticated confidential client", async () => {
    const { access_token } = await f.login();
    const refused: Record<string, string>[] = [
      {},
      { client_id: API_CLIENT.clientId, client_secret: "wrong" },
    ];
    for (const auth of refused) {
      const response = await introspect(access_token, auth);
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({
        error: "invalid_request",
        error_description: "Authentication failed.",
      });
    }
    const publicClient = await introspect(access_token, { client_id: "admin-cli" });
    expect(publicClient.status).toBe(403);
    expect(await publicClient.json()).toEqual({
      error: "invalid_request",
      error_description: "Client not allowed.",
    });
  });

  it("refuses a request without token", async () => {
    const response = await f.post(f.oidc("token/introspect"), apiClient);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: "invalid_request",
      error_description: "Token not provided.",
    });
  });
});

describe("userinfo", () => {
  it("returns the user's claims for a valid access token", async () => {
    const { access_token } = await f.login();
    const response = await f.get(f.oidc("userinfo"), { Authorization: `Bearer ${access_token}` });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      sub: f.alice.id,
      email_verified: true,
      name: "Alice Liddell",
      preferred_username: "alice",
      given_name: "Alice",
      family_name: "Liddell",
      email: "alice@example.com",
    });
  });

  it("takes the token from a POSTed form too", async () => {
    const { access_token } = await f.login();
    const response = await f.post(f.oidc("userinfo"), { access_token });
    expect(response.status).toBe(200);
  });

  it("answers 401 with a WWW-Authenticate challenge for an invalid token", async () => {
    const response = await f.get(f.oidc("userinfo"), { Authorization: "Bearer nonsense" });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe(
      `Bearer realm="${f.realm}", error="invalid_token", error_description="Token verification failed"`,
    );
    expect(await response.json()).toEqual({
      error: "invalid_token",
      error_description: "Token verification failed",
    });
  });

  it("answers 401 for an expired token and for an ended session", async () => {
    const first = await f.login();
    f.idp.admin.revokeUserSessions(f.realm, f.alice.id);
    const ended = await f.get(f.oidc("userinfo"), {
      Authorization: `Bearer ${first.access_token}`,
    });
    expect(ended.status).toBe(401);
    expect(await ended.json()).toEqual({
      error: "invalid_request",
      error_description: "User session not found or doesn't have client attached on it",
    });
    const second = await f.login();
    f.clock.advance(301);
    const expired = await f.get(f.oidc("userinfo"), {
      Authorization: `Bearer ${second.access_token}`,
    });
    expect(expired.status).toBe(401);
    expect(expired.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  it("answers 400 Token not provided without a token", async () => {
    const response = await f.get(f.oidc("userinfo"));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: "invalid_request",
      error_description: "Token not provided",
    });
  });
});

describe("logout", () => {
  it("ends the session: its refresh tokens fail, its access tokens introspect inactive", async () => {
    const tokens = await f.login();
    const response = await f.post(f.oidc("logout"), {
      ...apiClient,
      refresh_token: tokens.refresh_token ?? "",
    });
    expect(response.status).toBe(204);
    const refresh = await f.post(f.oidc("token"), {
      grant_type: "refresh_token",
      ...apiClient,
      refresh_token: tokens.refresh_token ?? "",
    });
    expect(await refresh.json()).toEqual({
      error: "invalid_grant",
      error_description: "Session not active",
    });
    const introspection = await f.post(f.oidc("token/introspect"), {
      ...apiClient,
      token: tokens.access_token,
    });
    expect(await introspection.json()).toEqual({ active: false });
    expect(f.idp.admin.sessionCount(f.realm)).toBe(0);
    // Logging out an ended session again is not an error.
    const again = await f.post(f.oidc("logout"), {
      ...apiClient,
      refresh_token: tokens.refresh_token ?? "",
    });
    expect(again.status).toBe(204);
  });

  it("leaves the user's other sessions alone", async () => {
    const first = await f.login();
    const second = await f.login();
    await f.post(f.oidc("logout"), { ...apiClient, refresh_token: first.refresh_token ?? "" });
    const introspection = await f.post(f.oidc("token/introspect"), {
      ...apiClient,
      token: second.access_token,
    });
    expect(await json(introspection)).toMatchObject({ active: true });
  });

  it("refuses a missing or foreign refresh token and a bad client", async () => {
    const missing = await f.post(f.oidc("logout"), apiClient);
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({
      error: "invalid_request",
      error_description: "No refresh token",
    });
    const tokens = await f.login();
    f.idp.admin.createClient(f.realm, { clientId: "other", secret: "other-secret" });
    const foreign = await f.post(f.oidc("logout"), {
      client_id: "other",
      client_secret: "other-secret",
      refresh_token: tokens.refresh_token ?? "",
    });
    expect(foreign.status).toBe(400);
    const badClient = await f.post(f.oidc("logout"), {
      client_id: API_CLIENT.clientId,
      client_secret: "wrong",
      refresh_token: tokens.refresh_token ?? "",
    });
    expect(badClient.status).toBe(401);
    expect(f.idp.admin.sessionCount(f.realm)).toBe(1);
  });
});

describe("start-up", () => {
  it("refuses to start in production", async () => {
    await expect(
      createLocalIdentityProvider({ issuerBaseUrl: BASE_URL, environment: "production" }),
    ).rejects.toThrow(/must not run in production/);
  });

  it.each(["not a url", "ftp://127.0.0.1", "http://127.0.0.1:8081/auth", "http://u:p@127.0.0.1"])(
    "refuses the issuer base URL %s",
    async (issuerBaseUrl) => {
      await expect(createLocalIdentityProvider({ issuerBaseUrl })).rejects.toThrow(TypeError);
    },
  );

  it("normalizes a trailing slash of the issuer base URL", async () => {
    const idp = await createLocalIdentityProvider({ issuerBaseUrl: `${BASE_URL}/` });
    expect(idp.issuer("master")).toBe(`${BASE_URL}/realms/master`);
  });
});
