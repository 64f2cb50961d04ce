import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  createKeycloakClient,
  type FetchLike,
  KeycloakError,
  KeycloakInvalidNameError,
  KeycloakMalformedResponseError,
  KeycloakUnavailableError,
} from "../../../src/integrations/keycloak/client";
import { ALICE, API_CLIENT, BASE_URL, createFixture, type Fixture } from "./fixture";

let f: Fixture;

beforeEach(async () => {
  f = await createFixture();
});

const credentials = () => ({ realm: f.realm, ...API_CLIENT });

async function refusal(promise: Promise<unknown>): Promise<KeycloakError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KeycloakError);
  return error as KeycloakError;
}

/** A client whose fetch answers with one canned response. */
function answering(status: number, body: string, headers: Record<string, string> = {}) {
  const fetch = vi.fn<FetchLike>(
    async () =>
      new Response(status === 204 ? null : body, {
        status,
        headers: { "Content-Type": "application/json", ...headers },
      }),
  );
  return { fetch, keycloak: createKeycloakClient({ baseUrl: BASE_URL, fetch }) };
}

describe("OpenID Connect calls against the local IdP", () => {
  it("logs in, refreshes, introspects, reads userinfo and logs out", async () => {
    const tokens = await f.keycloak.passwordGrant({
      ...credentials(),
      username: ALICE.username,
      password: ALICE.password,
      scope: "openid",
    });
    expect(tokens).toMatchObject({
      tokenType: "Bearer",
      expiresIn: 300,
      refreshExpiresIn: 1800,
      scope: "openid email profile",
      refreshToken: expect.any(String),
      idToken: expect.any(String),
      sessionState: expect.any(String),
    });

    const introspection = await f.keycloak.introspect({
      ...credentials(),
      token: tokens.accessToken,
    });
    expect(introspection).toMatchObject({
      active: true,
      sub: f.alice.id,
      client_id: API_CLIENT.clientId,
      username: ALICE.username,
      sid: tokens.sessionState,
    });

    const refreshed = await f.keycloak.refresh({
      ...credentials(),
      refreshToken: tokens.refreshToken ?? "",
    });
    expect(refreshed.sessionState).toBe(tokens.sessionState);

    const me = await f.keycloak.userinfo({ realm: f.realm, accessToken: refreshed.accessToken });
    expect(me).toMatchObject({ sub: f.alice.id, email: ALICE.email, preferred_username: "alice" });

    await f.keycloak.logout({ ...credentials(), refreshToken: refreshed.refreshToken ?? "" });
    expect(await f.keycloak.introspect({ ...credentials(), token: tokens.accessToken })).toEqual({
      active: false,
    });
    const error = await refusal(
      f.keycloak.refresh({ ...credentials(), refreshToken: tokens.refreshToken ?? "" }),
    );
    expect(error).toMatchObject({
      status: 400,
      error: "invalid_grant",
      description: "Session not active",
    });
  });

  it("gets a service-account token with client credentials", async () => {
    const tokens = await f.keycloak.clientCredentials(credentials());
    expect(tokens.refreshToken).toBeUndefined();
    expect(tokens.sessionState).toBeUndefined();
    expect(tokens.refreshExpiresIn).toBe(0);
  });

  it("logs in through a public client without secret", async () => {
    f.idp.admin.createClient(f.realm, {
      clientId: "spa",
      publicClient: true,
      directAccessGrantsEnabled: true,
    });
    const tokens = await f.keycloak.passwordGrant({
      realm: f.realm,
      clientId: "spa",
      username: ALICE.username,
      password: ALICE.password,
    });
    expect(tokens.accessToken).toEqual(expect.any(String));
  });

  it("builds the realm's URLs like Keycloak's discovery document", () => {
    const keycloak = createKeycloakClient({ baseUrl: `${BASE_URL}/` });
    expect(keycloak.endpoints("acme")).toEqual({
      issuer: `${BASE_URL}/realms/acme`,
      jwksUri: `${BASE_URL}/realms/acme/protocol/openid-connect/certs`,
      tokenEndpoint: `${BASE_URL}/realms/acme/protocol/openid-connect/token`,
      introspectionEndpoint: `${BASE_URL}/realms/acme/protocol/openid-connect/token/introspect`,
      userinfoEndpoint: `${BASE_URL}/realms/acme/protocol/openid-connect/userinfo`,
      endSessionEndpoint: `${BASE_URL}/realms/acme/protocol/openid-connect/logout`,
    });
    // A legacy server under /auth keeps its path.
    expect(
      createKeycloakClient({ baseUrl: "https://id.example.com/auth/" }).endpoints("a").issuer,
    ).toBe("https://id.example.com/auth/realms/a");
  });

  it.each([
    "id.example.com",
    "ftp://id.example.com",
    "https://id.example.com/?x=1",
    "https://u:p@id",
  ])("refuses the base URL %s", (baseUrl) => {
    expect(() => createKeycloakClient({ baseUrl })).toThrow(TypeError);
  });
});

describe("Keycloak's refusals become KeycloakError", () => {
  it.each([
    [
      "a wrong password",
      { password: "wrong-password-x" },
      401,
      "invalid_grant",
      "Invalid user credentials",
    ],
    ["a disabled account", {}, 400, "invalid_grant", "Account disabled"],
    [
      "a wrong client secret",
      { clientSecret: "wrong-secret-x" },
      401,
      "unauthorized_client",
      "Invalid client or Invalid client credentials",
    ],
  ])("maps %s", async (name, overrides, status, error, description) => {
    if (name === "a disabled account") f.idp.admin.setUserEnabled(f.realm, f.alice.id, false);
    const input = {
      ...credentials(),
      username: ALICE.username,
      password: ALICE.password,
      ...overrides,
    };
    const refused = await refusal(f.keycloak.passwordGrant(input));
    expect(refused).toMatchObject({ status, error, description, operation: "password grant" });
    expect(refused).not.toBeInstanceOf(KeycloakUnavailableError);
    // Nothing we sent appears in the error, however it is printed.
    const printed = `${refused.message} ${refused.stack} ${JSON.stringify(refused)}`;
    for (const secret of [input.password, input.clientSecret])
      expect(printed).not.toContain(secret);
  });

  it("maps admin REST bodies (errorMessage, error sentences) to status-named codes", async () => {
    const admin = f.keycloak.admin(await f.masterAdminToken());
    const conflict = await refusal(admin.createUser(f.realm, { username: ALICE.username }));
    expect(conflict).toMatchObject({
      status: 409,
      error: "conflict",
      description: "User exists with same username",
    });
    const missing = await refusal(admin.deleteRealm("nosuchrealm"));
    expect(missing).toMatchObject({
      status: 404,
      error: "not_found",
      description: "Realm not found.",
    });
    const unauthorized = await refusal(f.keycloak.admin("garbage").deleteRealm(f.realm));
    expect(unauthorized).toMatchObject({ status: 401, error: "unauthorized" });
  });

  it("turns 5xx answers into KeycloakUnavailableError", async () => {
    const { keycloak } = answering(503, '{"error":"temporarily_unavailable"}');
    const error = await refusal(keycloak.clientCredentials(credentials()));
    expect(error).toBeInstanceOf(KeycloakUnavailableError);
    expect(error).toMatchObject({ status: 503, error: "temporarily_unavailable" });
  });

  it("turns a network failure into KeycloakUnavailableError", async () => {
    const keycloak = createKeycloakClient({
      baseUrl: BASE_URL,
      fetch: async () => {
        throw new TypeError("fetch failed");
      },
    });
    const error = await refusal(keycloak.clientCredentials(credentials()));
    expect(error).toBeInstanceOf(KeycloakUnavailableError);
    expect(error).toMatchObject({ status: 0, error: "unavailable" });
  });

  it("gives up after timeoutMs, also when the body stalls", async () => {
    const stalled = createKeycloakClient({
      baseUrl: BASE_URL,
      timeoutMs: 50,
      fetch: () => new Promise<Response>(() => {}),
    });
    const error = await refusal(stalled.clientCredentials(credentials()));
    expect(error).toBeInstanceOf(KeycloakUnavailableError);
    expect(error).toMatchObject({ status: 0, error: "timeout" });

    const slowBody = createKeycloakClient({
      baseUrl: BASE_URL,
      timeoutMs: 50,
      fetch: async () => new Response(new ReadableStream({ start() {} }), { status: 200 }),
    });
    expect(await refusal(slowBody.userinfo({ realm: "a", accessToken: "t" }))).toMatchObject({
      error: "timeout",
    });
  });

  it("passes the abort signal to fetch", async () => {
    const { fetch, keycloak } = answering(200, '{"active":false}');
    await keycloak.introspect({ ...credentials(), token: "t" });
    expect(fetch.mock.calls[0]?.[1].signal).toBeInstanceOf(AbortSignal);
    expect(fetch.mock.calls[0]?.[1].redirect).toBe("manual");
  });
});

describe("malformed answers fail closed", () => {
  it.each([
    ["active as a string", '{"active":"true"}'],
    ["active missing", '{"sub":"x"}'],
    ["an active token without issuer", '{"active":true,"exp":1,"iat":1,"client_id":"c"}'],
    [
      "an active token with a non-numeric exp",
      '{"active":true,"iss":"i","exp":"1","iat":1,"client_id":"c"}',
    ],
    ["HTML", "<html>proxy error</html>"],
    ["an empty body", ""],
    ["an array", "[]"],
  ])("refuses an introspection answer with %s", async (_case, body) => {
    const { keycloak } = answering(200, body);
    const error = await refusal(keycloak.introspect({ ...credentials(), token: "secret-token-x" }));
    expect(error).toBeInstanceOf(KeycloakMalformedResponseError);
    expect(error).toMatchObject({ status: 200, error: "malformed_response" });
    expect(error.message).not.toContain("secret-token-x");
  });

  it("drops anything an inactive answer adds", async () => {
    const { keycloak } = answering(200, '{"active":false,"sub":"someone","scope":"admin"}');
    expect(await keycloak.introspect({ ...credentials(), token: "t" })).toEqual({ active: false });
  });

  it("names only the offending fields, never their values", async () => {
    const { keycloak } = answering(200, '{"access_token":"","token_type":"mac","expires_in":1}');
    const error = await refusal(keycloak.clientCredentials(credentials()));
    expect(error).toBeInstanceOf(KeycloakMalformedResponseError);
    expect(error.description).toContain("access_token");
    expect(error.description).toContain("token_type");
    expect(error.description).not.toContain("mac");
  });

  it("refuses a created resource without a usable Location header", async () => {
    const { keycloak } = answering(201, "", {
      Location: "https://elsewhere.example/whatever/../x",
    });
    const error = await refusal(keycloak.admin("token").createUser("acme", { username: "x" }));
    expect(error).toBeInstanceOf(KeycloakMalformedResponseError);
  });

  it("refuses a token answer whose type is not Bearer", async () => {
    const { keycloak } = answering(
      200,
      '{"access_token":"a","token_type":"DPoP","expires_in":300,"refresh_expires_in":0}',
    );
    await expect(keycloak.clientCredentials(credentials())).rejects.toBeInstanceOf(
      KeycloakMalformedResponseError,
    );
  });
});

describe("realm names and ids are checked before any request", () => {
  const badRealms = [
    "../master",
    "a/b",
    "%2e%2e",
    "%2F",
    "..",
    ".",
    "",
    "r".repeat(65),
    "a b",
    "a?b",
    "a#b",
    "ä",
  ];

  it.each(badRealms)("refuses the realm %j in every call", async (realm) => {
    const { fetch, keycloak } = answering(200, "{}");
    const admin = keycloak.admin("token");
    const calls: (() => Promise<unknown>)[] = [
      () => keycloak.openidConfiguration(realm),
      () => keycloak.passwordGrant({ realm, clientId: "c", username: "u", password: "p" }),
      () => keycloak.refresh({ realm, clientId: "c", refreshToken: "r" }),
      () => keycloak.clientCredentials({ realm, clientId: "c", clientSecret: "s" }),
      () => keycloak.introspect({ realm, clientId: "c", clientSecret: "s", token: "t" }),
      () => keycloak.logout({ realm, clientId: "c", refreshToken: "r" }),
      () => keycloak.userinfo({ realm, accessToken: "t" }),
      () => admin.createRealm({ realm }),
      () => admin.deleteRealm(realm),
      () => admin.createClient(realm, { clientId: "c" }),
      () => admin.findClientByClientId(realm, "c"),
      () => admin.getClientSecret(realm, "id"),
      () => admin.createUser(realm, { username: "u" }),
      () => admin.findUserByUsername(realm, "u"),
      () => admin.resetPassword(realm, "id", { value: "p", temporary: false }),
      () => admin.executeActionsEmail(realm, "id", { actions: ["UPDATE_PASSWORD"] }),
      () => admin.logoutUser(realm, "id"),
    ];
    for (const call of calls) {
      const error = await refusal(call());
      expect(error).toBeInstanceOf(KeycloakInvalidNameError);
      expect(error.error).toBe("invalid_realm_name");
    }
    expect(() => keycloak.endpoints(realm)).toThrow(KeycloakInvalidNameError);
    expect(fetch).not.toHaveBeenCalled();
  });

  it.each(["..", "../users", "a/b", "%2e%2e", "id?x=1", ""])(
    "refuses the user or client id %j",
    async (id) => {
      const { fetch, keycloak } = answering(204, "");
      const admin = keycloak.admin("token");
      await expect(admin.logoutUser("acme", id)).rejects.toBeInstanceOf(KeycloakInvalidNameError);
      await expect(
        admin.resetPassword("acme", id, { value: "p", temporary: false }),
      ).rejects.toBeInstanceOf(KeycloakInvalidNameError);
      await expect(admin.getClientSecret("acme", id)).rejects.toBeInstanceOf(
        KeycloakInvalidNameError,
      );
      expect(fetch).not.toHaveBeenCalled();
    },
  );

  it("encodes user-supplied query values instead of trusting them", async () => {
    const { fetch, keycloak } = answering(200, "[]");
    await keycloak.admin("token").findUserByUsername("acme", "bob&exact=false&search=*");
    const url = new URL(fetch.mock.calls[0]?.[0] ?? "");
    expect(url.searchParams.get("username")).toBe("bob&exact=false&search=*");
    expect(url.searchParams.getAll("exact")).toEqual(["true"]);
  });
});
