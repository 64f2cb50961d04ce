import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DeclaredPermission, PERMISSION_EXTENSION } from "../../src/core/auth/protected-route";
import { createKeycloakClient } from "../../src/integrations/keycloak/client";
import { createLocalIdentityProvider } from "../../src/integrations/keycloak/local-idp";
import { createTestApp, type TestApp, type TestUser } from "../support/harness";

/**
 * The shared security matrix: every operation of the OpenAPI document that declares a permission
 * is probed with every kind of bad credential, and with a valid token without and with the
 * permission. A new protected route joins the matrix by being declared; nobody writes a test.
 */
interface Operation {
  method: string;
  path: string;
  operationId: string;
  declared: DeclaredPermission;
  parameters: { name: string; in: string; schema?: { type?: string; format?: string } }[];
}

let t: TestApp;
let operations: Operation[] = [];
let plain: TestUser;
const tokens: Record<string, string> = {};

function sampleValue(schema: { type?: string; format?: string } | undefined): string {
  // Ids that exist nowhere: the probe must not touch real rows (a seeded system role is id 1).
  if (schema?.type === "integer" || schema?.type === "number") return "999999";
  if (schema?.format === "uuid") return "00000000-0000-7000-8000-000000000001";
  return "sample";
}

function urlOf(op: Operation): string {
  let path = op.path;
  for (const p of op.parameters.filter((p) => p.in === "path")) {
    path = path.replace(`{${p.name}}`, sampleValue(p.schema));
  }
  return path;
}

function call(op: Operation, token?: string) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const hasBody = op.method !== "get" && op.method !== "delete";
  return t.request(urlOf(op), {
    method: op.method.toUpperCase(),
    headers,
    ...(hasBody ? { body: "{}" } : {}),
  });
}

function b64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

beforeAll(async () => {
  t = await createTestApp();
  const document = t.app.openApiDocument() as unknown as {
    paths: Record<string, Record<string, Record<string, unknown>>>;
  };
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      const declared = operation[PERMISSION_EXTENSION] as DeclaredPermission | undefined;
      if (!declared) continue;
      operations.push({
        method,
        path,
        operationId: operation.operationId as string,
        declared,
        parameters: (operation.parameters as Operation["parameters"]) ?? [],
      });
    }
  }
  operations = operations.sort((a, b) => a.operationId.localeCompare(b.operationId));

  plain = await t.createUser();
  const valid = await plain.token();
  const [header, payload, signature] = valid.split(".") as [string, string, string];
  tokens.malformed = "not-a-jwt";
  tokens.algNone = `${b64url({ alg: "none", typ: "JWT" })}.${payload}.`;
  tokens.wrongSignature = `${header}.${payload}.${signature.slice(0, -6)}${signature.slice(-6) === "AAAAAA" ? "BBBBBB" : "AAAAAA"}`;

  // Expired: minted by an identity provider whose clock is an hour behind.
  t.idpClock.offsetMs = -3600_000;
  tokens.expired = await plain.token();
  // Not yet valid: issued ten minutes in the future (beyond the 30 s skew).
  t.idpClock.offsetMs = 600_000;
  tokens.notYetValid = await plain.token();
  t.idpClock.offsetMs = 0;

  const realm = "other-realm";
  const admin = t.identity.idp.admin;
  await admin.createRealm({ realm, enabled: true });
  const otherClient = admin.createClient(realm, {
    clientId: "admin-api",
    directAccessGrantsEnabled: true,
  });
  await admin.createUser(realm, {
    username: plain.username,
    email: "x@example.com",
    password: plain.password,
    emailVerified: true,
  });
  const idpFetch = async (input: string, init: RequestInit) =>
    t.identity.idp.app.request(input, init);
  const keycloak = createKeycloakClient({ baseUrl: t.identity.url, fetch: idpFetch });
  tokens.otherRealm = (
    await keycloak.passwordGrant({
      realm,
      clientId: "admin-api",
      clientSecret: otherClient.secret ?? "",
      username: plain.username,
      password: plain.password,
    })
  ).accessToken;

  const foreignClient = admin.createClient("neo-admin", {
    clientId: "another-app",
    directAccessGrantsEnabled: true,
  });
  tokens.wrongAudience = (
    await keycloak.passwordGrant({
      realm: "neo-admin",
      clientId: "another-app",
      clientSecret: foreignClient.secret ?? "",
      username: plain.username,
      password: plain.password,
    })
  ).accessToken;

  const withOpenId = await keycloak.passwordGrant({
    realm: "neo-admin",
    clientId: "admin-api",
    clientSecret: t.identity.clientSecret,
    username: plain.username,
    password: plain.password,
    scope: "openid",
  });
  tokens.idToken = withOpenId.idToken ?? "";

  // Another issuer altogether: same realm name, same client, another server.
  const impostor = await createLocalIdentityProvider({ issuerBaseUrl: "http://impostor.test" });
  await impostor.admin.createRealm({ realm: "neo-admin", enabled: true });
  const impostorClient = impostor.admin.createClient("neo-admin", {
    clientId: "admin-api",
    directAccessGrantsEnabled: true,
  });
  await impostor.admin.createUser("neo-admin", {
    username: plain.username,
    email: "y@example.com",
    password: plain.password,
    emailVerified: true,
  });
  const impostorKeycloak = createKeycloakClient({
    baseUrl: "http://impostor.test",
    fetch: async (input, init) => impostor.app.request(input, init),
  });
  tokens.wrongIssuer = (
    await impostorKeycloak.passwordGrant({
      realm: "neo-admin",
      clientId: "admin-api",
      clientSecret: impostorClient.secret ?? "",
      username: plain.username,
      password: plain.password,
    })
  ).accessToken;
}, 120_000);

afterAll(() => t.close());

describe("the security matrix", () => {
  it("covers every protected operation of the document", () => {
    expect(operations.length).toBeGreaterThanOrEqual(8);
    for (const op of operations) {
      expect(op.declared.code === null || /^[a-z][a-z0-9_.]*:[a-z_]+$/.test(op.declared.code)).toBe(
        true,
      );
    }
  });

  const badCredentials = [
    ["no token", () => undefined],
    ["a malformed token", () => tokens.malformed],
    ["alg: none", () => tokens.algNone],
    ["a wrong signature", () => tokens.wrongSignature],
    ["an expired token", () => tokens.expired],
    ["a token not yet valid", () => tokens.notYetValid],
    ["a token of another issuer", () => tokens.wrongIssuer],
    ["a token of another realm", () => tokens.otherRealm],
    ["an ID token instead of an access token", () => tokens.idToken],
    ["a token for another audience", () => tokens.wrongAudience],
  ] as const;

  it.each(badCredentials)(
    "refuses %s with 401 and a Bearer challenge on every operation",
    async (_, token) => {
      for (const op of operations) {
        const res = await call(op, token());
        expect.soft(res.status, `${op.operationId}`).toBe(401);
        expect
          .soft(res.headers.get("www-authenticate") ?? "", `${op.operationId}`)
          .toMatch(/^Bearer realm="neoadmin"/);
        const body = await res.json();
        expect.soft(body.errors?.[0]?.code, `${op.operationId}`).toBe("UNAUTHORIZED");
      }
    },
  );

  it("refuses a valid token without the permission with 403", async () => {
    const token = await plain.token();
    for (const op of operations.filter((o) => o.declared.code)) {
      const res = await call(op, token);
      expect.soft(res.status, `${op.operationId} (${op.declared.code})`).toBe(403);
    }
  });

  it("refuses a user whose only grants are tenant-scoped (every tenant role and permission) with 403", async () => {
    // BOLA probe: tenant power never reaches platform resources, whatever ids are named.
    const suffix = Math.random().toString(36).slice(2, 10);
    const [org] = await t.deps.db<{ id: string }[]>`
      insert into admin.organizations (name, slug) values ('Matrix', ${`matrix-${suffix}`})
      returning id`;
    const [tenant] = await t.deps.db<{ id: string }[]>`
      insert into admin.tenants (organization_id, slug, name, schema_name, external_auth_realm,
                                 external_user_id, status)
      values (${org?.id ?? ""}, ${`matrix-${suffix}`}, 'Matrix', ${`tenant_matrix_${suffix}`},
              'matrix-realm', 'x', 'active')
      returning id`;
    const user = await t.createUser();
    await t.deps.db`
      insert into admin.tenant_user_roles (tenant_id, user_id, role_id)
      select ${tenant?.id ?? ""}, ${user.id}, id from admin.platform_roles where role_level = 'tenant'`;
    await t.deps.db`
      insert into admin.tenant_user_permissions (tenant_id, user_id, permission_id)
      select ${tenant?.id ?? ""}, ${user.id}, id from admin.platform_permissions
      where scope_level = 'tenant'`;
    const token = await user.token();
    for (const op of operations.filter((o) => o.declared.code)) {
      const res = await call(op, token);
      expect.soft(res.status, `${op.operationId} (${op.declared.code})`).toBe(403);
    }
  });

  it("lets a valid token with the permission through (whatever the operation then answers)", async () => {
    for (const op of operations) {
      const user = await t.createUser({ permissions: op.declared.code ? [op.declared.code] : [] });
      const res = await call(op, await user.token());
      expect.soft(res.status, `${op.operationId} answered 401`).not.toBe(401);
      if (res.status === 403) {
        // A business rule may still refuse (403), but never for want of the declared permission.
        const body = await res.json();
        expect.soft(body.message, op.operationId).not.toMatch(/^Missing permission/);
      }
    }
  });

  it("never falls back to guest access on a protected route", async () => {
    const guest = await t.request("/api/v1/session");
    const guestToken = guest.headers.get("x-guest-session") ?? "";
    for (const op of operations) {
      const res = await call(op, guestToken);
      expect.soft(res.status, op.operationId).toBe(401);
    }
  });
});
