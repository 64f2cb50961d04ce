import { beforeEach, describe, expect, it } from "vitest";
import { type KeycloakAdminClient, KeycloakError } from "../../../src/integrations/keycloak/client";
import {
  ALICE,
  API_CLIENT,
  BASE_URL,
  createFixture,
  type Fixture,
  json,
  randomRealm,
} from "./fixture";

let f: Fixture;
let admin: KeycloakAdminClient;
let adminToken: string;

beforeEach(async () => {
  f = await createFixture();
  adminToken = await f.masterAdminToken();
  admin = f.keycloak.admin(adminToken);
});

async function adminRequest(
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<Response> {
  const headers: Record<string, string> = {};
  const token = options.token ?? adminToken;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  return f.idp.app.request(`${BASE_URL}/admin/realms${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
}

async function loginAs(username: string, password: string, realm = f.realm) {
  return f.keycloak.passwordGrant({ realm, ...API_CLIENT, username, password });
}

async function refusal(promise: Promise<unknown>): Promise<KeycloakError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KeycloakError);
  return error as KeycloakError;
}

describe("realms", () => {
  it("creates a realm (201 + Location), refuses a duplicate with 409, deletes it", async () => {
    const realm = randomRealm();
    const created = await adminRequest("POST", "", { body: { realm, enabled: true } });
    expect(created.status).toBe(201);
    expect(created.headers.get("location")).toBe(`${BASE_URL}/admin/realms/${realm}`);
    expect((await f.get(`/realms/${realm}/.well-known/openid-configuration`)).status).toBe(200);

    const duplicate = await adminRequest("POST", "", { body: { realm } });
    expect(duplicate.status).toBe(409);
    expect(await duplicate.json()).toEqual({
      errorMessage: "Conflict detected. See logs for details",
    });
    const error = await refusal(admin.createRealm({ realm }));
    expect(error).toMatchObject({
      status: 409,
      error: "conflict",
      description: "Conflict detected. See logs for details",
    });

    await admin.deleteRealm(realm);
    expect((await f.get(`/realms/${realm}/.well-known/openid-configuration`)).status).toBe(404);
    const gone = await adminRequest("DELETE", `/${realm}`);
    expect(gone.status).toBe(404);
    expect(await gone.json()).toEqual({ error: "Realm not found." });
  });

  it("lets the client create a realm usable right away", async () => {
    const realm = randomRealm();
    await admin.createRealm({ realm, enabled: true, displayName: "Tenant" });
    expect(await json(await adminRequest("GET", `/${realm}`))).toMatchObject({
      realm,
      enabled: true,
      displayName: "Tenant",
    });
  });
});

describe("clients", () => {
  it("creates a confidential client, finds it by clientId and reads its secret", async () => {
    const id = await admin.createClient(f.realm, {
      clientId: "billing",
      secret: "billing-secret",
      publicClient: false,
      serviceAccountsEnabled: true,
      directAccessGrantsEnabled: false,
    });
    const found = await admin.findClientByClientId(f.realm, "billing");
    expect(found).toMatchObject({ id, clientId: "billing", serviceAccountsEnabled: true });
    expect(await admin.getClientSecret(f.realm, id)).toBe("billing-secret");
    const tokens = await f.keycloak.clientCredentials({
      realm: f.realm,
      clientId: "billing",
      clientSecret: "billing-secret",
    });
    expect(tokens.accessToken).toEqual(expect.any(String));
    expect(await admin.findClientByClientId(f.realm, "nope")).toBeNull();
  });

  it("generates a 32-character secret when none is given; public clients have none", async () => {
    const id = await admin.createClient(f.realm, { clientId: "generated" });
    expect(await admin.getClientSecret(f.realm, id)).toMatch(/^[A-Za-z0-9]{32}$/);
    const publicId = await admin.createClient(f.realm, { clientId: "spa", publicClient: true });
    expect(await admin.getClientSecret(f.realm, publicId)).toBeNull();
  });

  it("answers 201 with the client's Location and 409 for a duplicate clientId", async () => {
    const created = await adminRequest("POST", `/${f.realm}/clients`, {
      body: { clientId: "raw", publicClient: false },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get("location")).toMatch(
      new RegExp(`^${BASE_URL}/admin/realms/${f.realm}/clients/[0-9a-f-]{36}$`),
    );
    const duplicate = await adminRequest("POST", `/${f.realm}/clients`, {
      body: { clientId: "raw" },
    });
    expect(duplicate.status).toBe(409);
    expect(await duplicate.json()).toEqual({ errorMessage: "Client raw already exists" });
  });
});

describe("users", () => {
  it("creates a user with a password who can then log in", async () => {
    const id = await admin.createUser(f.realm, {
      username: "Bob",
      email: "Bob@Example.com",
      firstName: "Bob",
      lastName: "Builder",
      enabled: true,
      emailVerified: true,
      password: { value: "bob-password-1", temporary: false },
    });
    const found = await admin.findUserByUsername(f.realm, "BOB");
    // Keycloak lowercases usernames and emails.
    expect(found).toMatchObject({
      id,
      username: "bob",
      email: "bob@example.com",
      firstName: "Bob",
      lastName: "Builder",
      enabled: true,
      emailVerified: true,
      requiredActions: [],
    });
    const tokens = await loginAs("bob", "bob-password-1");
    expect(tokens.accessToken).toEqual(expect.any(String));
  });

  it("answers 201 with Location, and 409 for a duplicate username or email", async () => {
    const created = await adminRequest("POST", `/${f.realm}/users`, {
      body: { username: "carol", email: "carol@example.com", enabled: true },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get("location")).toMatch(
      new RegExp(`^${BASE_URL}/admin/realms/${f.realm}/users/[0-9a-f-]{36}$`),
    );
    const sameName = await adminRequest("POST", `/${f.realm}/users`, {
      body: { username: "CAROL" },
    });
    expect(sameName.status).toBe(409);
    expect(await sameName.json()).toEqual({ errorMessage: "User exists with same username" });
    const sameEmail = await adminRequest("POST", `/${f.realm}/users`, {
      body: { username: "carol2", email: "carol@example.com" },
    });
    expect(sameEmail.status).toBe(409);
    expect(await sameEmail.json()).toEqual({ errorMessage: "User exists with same email" });
    const error = await refusal(admin.createUser(f.realm, { username: "carol" }));
    expect(error).toMatchObject({ status: 409, description: "User exists with same username" });
  });

  it("refuses a user without username like Keycloak's user profile does", async () => {
    const response = await adminRequest("POST", `/${f.realm}/users`, { body: { email: "x@y.z" } });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      field: "username",
      errorMessage: "error-user-attribute-required",
      params: ["username"],
    });
  });

  it("finds users by exact username only, and returns null for unknown ones", async () => {
    await admin.createUser(f.realm, { username: "alice2" });
    expect((await admin.findUserByUsername(f.realm, "alice"))?.id).toBe(f.alice.id);
    expect(await admin.findUserByUsername(f.realm, "ali")).toBeNull();
    const partial = (await (
      await adminRequest("GET", `/${f.realm}/users?username=ali`)
    ).json()) as { username: string }[];
    expect(partial.map((user) => user.username)).toEqual(["alice", "alice2"]);
  });

  it("resets a password: the new one works, the old one does not", async () => {
    await admin.resetPassword(f.realm, f.alice.id, { value: "new-password-2", temporary: false });
    expect((await loginAs(ALICE.username, "new-password-2")).accessToken).toBeTruthy();
    const error = await refusal(loginAs(ALICE.username, ALICE.password));
    expect(error).toMatchObject({ status: 401, error: "invalid_grant" });
  });

  it("makes a temporary password unusable for direct grants", async () => {
    await admin.resetPassword(f.realm, f.alice.id, { value: "temporary-3", temporary: true });
    const error = await refusal(loginAs(ALICE.username, "temporary-3"));
    expect(error).toMatchObject({
      status: 400,
      error: "invalid_grant",
      description: "Account is not fully set up",
    });
  });

  it("logs a user out of every session", async () => {
    const first = await loginAs(ALICE.username, ALICE.password);
    await loginAs(ALICE.username, ALICE.password);
    expect(f.idp.admin.sessionCount(f.realm)).toBe(2);
    await admin.logoutUser(f.realm, f.alice.id);
    expect(f.idp.admin.sessionCount(f.realm)).toBe(0);
    const error = await refusal(
      f.keycloak.refresh({ realm: f.realm, ...API_CLIENT, refreshToken: first.refreshToken ?? "" }),
    );
    expect(error).toMatchObject({ status: 400, description: "Session not active" });
  });

  it("answers 404 User not found for an unknown user id", async () => {
    const response = await adminRequest("POST", `/${f.realm}/users/${crypto.randomUUID()}/logout`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: "User not found" });
  });
});

describe("other user and client routes", () => {
  it("reads, updates and deletes a user by id", async () => {
    const path = `/${f.realm}/users/${f.alice.id}`;
    expect(await json(await adminRequest("GET", path))).toMatchObject({
      id: f.alice.id,
      username: "alice",
      email: ALICE.email,
    });
    const updated = await adminRequest("PUT", path, {
      body: { enabled: false, firstName: "Alicia" },
    });
    expect(updated.status).toBe(204);
    expect(await json(await adminRequest("GET", path))).toMatchObject({
      enabled: false,
      firstName: "Alicia",
    });
    const error = await refusal(loginAs(ALICE.username, ALICE.password));
    expect(error.description).toBe("Account disabled");

    expect((await adminRequest("DELETE", path)).status).toBe(204);
    const gone = await adminRequest("GET", path);
    expect(gone.status).toBe(404);
    expect(await gone.json()).toEqual({ error: "User not found" });
  });

  it("reads a client by id, and answers 404 for an unknown one", async () => {
    const found = await adminRequest("GET", `/${f.realm}/clients/${f.client.id}`);
    expect(await json(found)).toMatchObject({
      id: f.client.id,
      clientId: API_CLIENT.clientId,
      protocol: "openid-connect",
      publicClient: false,
    });
    const unknown = await adminRequest("GET", `/${f.realm}/clients/${crypto.randomUUID()}`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: "Could not find client" });
  });

  it.each([
    ["a body that is not JSON", "POST", "users", "not json", { error: "HTTP 400 Bad Request" }],
    ["a password without value", "PUT", "reset-password", {}, { error: "No password provided" }],
    ["a blank password", "PUT", "reset-password", { value: "  " }, { error: "Empty password" }],
  ])("refuses %s", async (_case, method, target, body, expected) => {
    const path =
      target === "users" ? `/${f.realm}/users` : `/${f.realm}/users/${f.alice.id}/${target}`;
    const response =
      typeof body === "string"
        ? await f.idp.app.request(`${BASE_URL}/admin/realms${path}`, {
            method,
            headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
            body,
          })
        : await adminRequest(method, path, { body });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(expected);
  });

  it("refuses to delete the master realm", async () => {
    const response = await adminRequest("DELETE", "/master");
    expect(response.status).toBe(400);
  });
});

describe("execute-actions email", () => {
  const passwordForm = (password: string, confirm = password) => ({
    "password-new": password,
    "password-confirm": confirm,
  });
  const linkPath = (link: string) => {
    const url = new URL(link);
    return `${url.pathname}${url.search}`;
  };

  it("sends a link that sets a new password once; the user can then log in", async () => {
    await admin.executeActionsEmail(f.realm, f.alice.id, {
      actions: ["UPDATE_PASSWORD"],
      lifespanSeconds: 600,
    });
    const [email] = f.idp.admin.outbox;
    expect(email).toMatchObject({
      realm: f.realm,
      to: ALICE.email,
      userId: f.alice.id,
      actions: ["UPDATE_PASSWORD"],
    });
    const link = email?.link ?? "";
    expect(link.startsWith(`${BASE_URL}/realms/${f.realm}/login-actions/action-token?key=`)).toBe(
      true,
    );

    const form = await f.get(linkPath(link));
    expect(form.status).toBe(200);
    expect(form.headers.get("referrer-policy")).toBe("no-referrer");
    expect(await form.text()).toContain('name="password-new"');

    const mismatch = await f.post(linkPath(link), passwordForm("fresh-password-4", "other"));
    expect(mismatch.status).toBe(400);
    expect(await mismatch.text()).toContain("Passwords don&#39;t match.");

    const done = await f.post(linkPath(link), passwordForm("fresh-password-4"));
    expect(done.status).toBe(200);
    expect(await done.text()).toContain("Your account has been updated.");
    expect((await loginAs(ALICE.username, "fresh-password-4")).accessToken).toBeTruthy();

    // Single use: the same link no longer works, neither to show nor to submit.
    expect((await f.get(linkPath(link))).status).toBe(400);
    const replay = await f.post(linkPath(link), passwordForm("attacker-password-5"));
    expect(replay.status).toBe(400);
    await expect(loginAs(ALICE.username, "attacker-password-5")).rejects.toBeInstanceOf(
      KeycloakError,
    );
  });

  it("lets the link expire after its lifespan", async () => {
    await admin.executeActionsEmail(f.realm, f.alice.id, {
      actions: ["UPDATE_PASSWORD"],
      lifespanSeconds: 60,
    });
    f.clock.advance(61);
    const response = await f.get(linkPath(f.idp.admin.outbox[0]?.link ?? ""));
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("Action expired.");
  });

  it("refuses a tampered link", async () => {
    await admin.executeActionsEmail(f.realm, f.alice.id, { actions: ["UPDATE_PASSWORD"] });
    const url = new URL(f.idp.admin.outbox[0]?.link ?? "");
    url.searchParams.set("key", `${url.searchParams.get("key")}x`);
    const response = await f.post(`${url.pathname}${url.search}`, passwordForm("x-password-6"));
    expect(response.status).toBe(400);
  });

  it("names the client in the link and verifies the email with VERIFY_EMAIL", async () => {
    f.idp.admin.updateUser(f.realm, f.alice.id, { emailVerified: false });
    f.idp.admin.createClient(f.realm, {
      clientId: "portal",
      publicClient: true,
      redirectUris: ["https://portal.example/done"],
    });
    await admin.executeActionsEmail(f.realm, f.alice.id, {
      actions: ["VERIFY_EMAIL"],
      clientId: "portal",
      redirectUri: "https://portal.example/done",
    });
    const link = f.idp.admin.outbox[0]?.link ?? "";
    expect(new URL(link).searchParams.get("client_id")).toBe("portal");
    const form = await f.get(linkPath(link));
    expect(await form.text()).not.toContain("password-new");
    expect((await f.post(linkPath(link), {})).status).toBe(200);
    expect((await admin.findUserByUsername(f.realm, ALICE.username))?.emailVerified).toBe(true);
  });

  it.each([
    ["an unknown client", "?client_id=nope", "Client doesn't exist"],
    ["a redirect without client", "?redirect_uri=https%3A%2F%2Fevil.example", "Client id missing"],
    [
      "an unregistered redirect",
      `?client_id=${API_CLIENT.clientId}&redirect_uri=https%3A%2F%2Fevil.example`,
      "Invalid redirect uri.",
    ],
  ])("refuses %s", async (_case, query, message) => {
    const response = await adminRequest(
      "PUT",
      `/${f.realm}/users/${f.alice.id}/execute-actions-email${query}`,
      { body: ["UPDATE_PASSWORD"] },
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ errorMessage: message });
  });

  it("refuses a lifespan that is not a positive number", async () => {
    const response = await adminRequest(
      "PUT",
      `/${f.realm}/users/${f.alice.id}/execute-actions-email?lifespan=-5`,
      { body: ["UPDATE_PASSWORD"] },
    );
    expect(response.status).toBe(400);
  });

  it("refuses a user without email and actions it cannot carry out", async () => {
    const id = await admin.createUser(f.realm, { username: "noemail" });
    const noEmail = await refusal(
      admin.executeActionsEmail(f.realm, id, { actions: ["UPDATE_PASSWORD"] }),
    );
    expect(noEmail).toMatchObject({ status: 400, description: "User email missing" });
    const unknownAction = await adminRequest(
      "PUT",
      `/${f.realm}/users/${f.alice.id}/execute-actions-email`,
      { body: ["FLY_TO_THE_MOON"] },
    );
    expect(unknownAction.status).toBe(400);
    expect(await unknownAction.json()).toEqual({
      errorMessage: "Provided invalid required actions",
    });
    expect(f.idp.admin.outbox).toHaveLength(0);
  });
});

describe("who may call the admin REST API", () => {
  it.each([
    ["no token", undefined],
    ["a garbage token", "garbage"],
  ])("refuses %s with 401", async (_case, token) => {
    const response = await f.idp.app.request(`${BASE_URL}/admin/realms/${f.realm}/users`, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: "HTTP 401 Unauthorized" });
  });

  it("refuses an expired admin token with 401, before looking at the realm", async () => {
    f.clock.advance(301);
    for (const path of [`/${f.realm}/users`, "/nosuchrealm/users"]) {
      expect((await adminRequest("GET", path)).status).toBe(401);
    }
  });

  it("refuses a plain user's token with 403", async () => {
    const { accessToken } = await loginAs(ALICE.username, ALICE.password);
    const response = await adminRequest("GET", `/${f.realm}/users`, { token: accessToken });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ error: "HTTP 403 Forbidden" });
    const error = await refusal(
      f.keycloak.admin(accessToken).createRealm({ realm: randomRealm() }),
    );
    expect(error).toMatchObject({ status: 403, error: "forbidden" });
  });

  it("lets a realm admin manage their own realm only, and create no realms", async () => {
    f.idp.admin.grantRealmAdmin(f.realm, f.alice.id);
    const { accessToken } = await loginAs(ALICE.username, ALICE.password);
    const realmAdmin = f.keycloak.admin(accessToken);
    expect(await realmAdmin.createUser(f.realm, { username: "dave" })).toEqual(expect.any(String));

    const other = randomRealm();
    await admin.createRealm({ realm: other });
    expect((await adminRequest("GET", `/${other}/users`, { token: accessToken })).status).toBe(403);
    expect((await refusal(realmAdmin.createRealm({ realm: randomRealm() }))).status).toBe(403);
  });

  it("accepts a service account holding realm-admin (client credentials)", async () => {
    f.idp.admin.grantRealmAdmin(
      f.realm,
      f.idp.admin.serviceAccountUserId(f.realm, API_CLIENT.clientId),
    );
    const { accessToken } = await f.keycloak.clientCredentials({ realm: f.realm, ...API_CLIENT });
    const id = await f.keycloak.admin(accessToken).createUser(f.realm, { username: "erin" });
    expect(id).toEqual(expect.any(String));
  });

  it("answers 404 Realm not found to an admin asking for an unknown realm", async () => {
    const response = await adminRequest("GET", "/nosuchrealm/users");
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: "Realm not found." });
  });

  it("stops accepting an admin token once its session ends", async () => {
    const master = f.idp.admin.findUser("master", "admin");
    f.idp.admin.revokeUserSessions("master", master?.id ?? "");
    expect((await adminRequest("GET", `/${f.realm}/users`)).status).toBe(401);
  });
});
