import type { Context, Hono } from "hono";
import { z } from "zod";
import { isValidRealmName } from "../../realm-name";
import type { LocalIdpAdmin } from "../admin";
import {
  type ClientRecord,
  type IdpStore,
  LocalIdpError,
  type RealmRecord,
  type UserRecord,
} from "../store";
import {
  type AdminCaller,
  authenticateAdmin,
  FORBIDDEN_BODY,
  mayAdminister,
  UNAUTHORIZED_BODY,
} from "./admin-auth";

const realmBody = z.object({
  realm: z.string(),
  enabled: z.boolean().optional(),
  displayName: z.string().optional(),
});

const clientBody = z.object({
  clientId: z.string().min(1),
  secret: z.string().min(1).optional(),
  publicClient: z.boolean().optional(),
  enabled: z.boolean().optional(),
  serviceAccountsEnabled: z.boolean().optional(),
  directAccessGrantsEnabled: z.boolean().optional(),
  standardFlowEnabled: z.boolean().optional(),
  redirectUris: z.array(z.string()).optional(),
});

const credentialBody = z.object({
  type: z.string().optional(),
  value: z.string().optional(),
  temporary: z.boolean().optional(),
});

const userBody = z.object({
  username: z.string().optional(),
  email: z.string().optional(),
  firstName: z.string().optional(),
  lastName: z.string().optional(),
  enabled: z.boolean().optional(),
  emailVerified: z.boolean().optional(),
  requiredActions: z.array(z.string()).optional(),
  credentials: z.array(credentialBody).optional(),
});

const actionsBody = z.array(z.string());

/** Good enough to refuse obvious garbage, as Keycloak's user profile validation does. */
const EMAIL = /^[^\s@]+@[^\s@]+$/;

type Handler = (
  c: Context,
  caller: AdminCaller,
  realm: RealmRecord,
) => Promise<Response> | Response;

/**
 * The admin REST calls the API makes, with Keycloak's paths, status codes and error bodies.
 * Order of checks as in Keycloak: the caller's token (401), the realm (404), the caller's
 * roles in that realm (403), then the request itself.
 */
export function registerAdminRestRoutes(app: Hono, store: IdpStore, admin: LocalIdpAdmin): void {
  const inRealm =
    (handler: Handler) =>
    async (c: Context): Promise<Response> => {
      const caller = await authenticateAdmin(c, store);
      if (!caller) return c.json(UNAUTHORIZED_BODY, 401);
      const name = c.req.param("realm");
      const realm = isValidRealmName(name) ? store.realm(name) : undefined;
      if (!realm) return c.json({ error: "Realm not found." }, 404);
      if (!mayAdminister(caller, realm)) return c.json(FORBIDDEN_BODY, 403);
      try {
        return await handler(c, caller, realm);
      } catch (error) {
        if (error instanceof LocalIdpError) return localIdpErrorResponse(c, error);
        throw error;
      }
    };

  app.post("/admin/realms", async (c) => {
    const caller = await authenticateAdmin(c, store);
    if (!caller) return c.json(UNAUTHORIZED_BODY, 401);
    if (!mayAdminister(caller, null)) return c.json(FORBIDDEN_BODY, 403);
    const body = realmBody.safeParse(await readJson(c));
    if (!body.success) return badRequest(c);
    if (!isValidRealmName(body.data.realm)) {
      return c.json({ errorMessage: "Invalid realm name" }, 400);
    }
    try {
      await admin.createRealm(body.data);
    } catch (error) {
      if (error instanceof LocalIdpError) return localIdpErrorResponse(c, error);
      throw error;
    }
    return c.body(null, 201, { Location: `${adminUrl(store)}/${body.data.realm}` });
  });

  app.get(
    "/admin/realms/:realm",
    inRealm((c, _caller, realm) =>
      c.json({
        id: realm.id,
        realm: realm.name,
        ...(realm.displayName ? { displayName: realm.displayName } : {}),
        enabled: realm.enabled,
        accessTokenLifespan: store.settings.accessTokenLifespan,
        ssoSessionIdleTimeout: store.settings.ssoSessionIdle,
        ssoSessionMaxLifespan: store.settings.ssoSessionMax,
        revokeRefreshToken: false,
      }),
    ),
  );

  app.delete(
    "/admin/realms/:realm",
    inRealm((c, _caller, realm) => {
      admin.deleteRealm(realm.name);
      return c.body(null, 204);
    }),
  );

  app.post(
    "/admin/realms/:realm/clients",
    inRealm(async (c, _caller, realm) => {
      const body = clientBody.safeParse(await readJson(c));
      if (!body.success) return badRequest(c);
      const client = admin.createClient(realm.name, body.data);
      return c.body(null, 201, {
        Location: `${adminUrl(store)}/${realm.name}/clients/${client.id}`,
      });
    }),
  );

  app.get(
    "/admin/realms/:realm/clients",
    inRealm((c, _caller, realm) => {
      const wanted = c.req.query("clientId");
      const clients = [...realm.clients.values()].filter(
        (client) => wanted === undefined || client.clientId === wanted,
      );
      return c.json(clients.map(clientRepresentation));
    }),
  );

  app.get(
    "/admin/realms/:realm/clients/:id",
    inRealm((c, _caller, realm) => {
      const client = realm.clients.get(c.req.param("id") ?? "");
      if (!client) return c.json({ error: "Could not find client" }, 404);
      return c.json(clientRepresentation(client));
    }),
  );

  app.get(
    "/admin/realms/:realm/clients/:id/client-secret",
    inRealm((c, _caller, realm) => {
      const client = realm.clients.get(c.req.param("id") ?? "");
      if (!client) return c.json({ error: "Could not find client" }, 404);
      return c.json(
        client.secret === null ? { type: "secret" } : { type: "secret", value: client.secret },
      );
    }),
  );

  app.post(
    "/admin/realms/:realm/users",
    inRealm(async (c, _caller, realm) => {
      const body = userBody.safeParse(await readJson(c));
      if (!body.success) return badRequest(c);
      const { username, email, credentials, ...rest } = body.data;
      if (!username?.trim()) {
        return c.json(
          {
            field: "username",
            errorMessage: "error-user-attribute-required",
            params: ["username"],
          },
          400,
        );
      }
      if (email !== undefined && email !== "" && !EMAIL.test(email)) {
        return c.json(
          { field: "email", errorMessage: "error-invalid-email", params: ["email", email] },
          400,
        );
      }
      const password = credentials?.find(
        (credential) => (credential.type ?? "password") === "password",
      );
      const user = await admin.createUser(realm.name, {
        ...rest,
        username,
        ...(email ? { email } : {}),
        ...(password?.value !== undefined
          ? { password: password.value, temporaryPassword: password.temporary ?? false }
          : {}),
      });
      return c.body(null, 201, { Location: `${adminUrl(store)}/${realm.name}/users/${user.id}` });
    }),
  );

  app.get(
    "/admin/realms/:realm/users",
    inRealm((c, _caller, realm) => {
      const query = c.req.query();
      const exact = query.exact === "true";
      const matches = (value: string | null, wanted: string | undefined) =>
        wanted === undefined ||
        (value !== null &&
          (exact ? value === wanted.toLowerCase() : value.includes(wanted.toLowerCase())));
      const search = query.search?.toLowerCase();
      const first = Math.max(0, Number.parseInt(query.first ?? "0", 10) || 0);
      const max = Math.max(0, Number.parseInt(query.max ?? "100", 10) || 100);
      const users = [...realm.users.values()]
        // Keycloak leaves service-account users out of searches.
        .filter((user) => user.serviceAccountClientId === null)
        .filter(
          (user) => matches(user.username, query.username) && matches(user.email, query.email),
        )
        .filter(
          (user) =>
            search === undefined ||
            [user.username, user.email, user.firstName, user.lastName].some((field) =>
              field?.toLowerCase().includes(search),
            ),
        )
        .sort((a, b) => a.username.localeCompare(b.username))
        .slice(first, first + max);
      return c.json(users.map(userRepresentation));
    }),
  );

  app.get(
    "/admin/realms/:realm/users/:id",
    inRealm((c, _caller, realm) => {
      const user = realm.users.get(c.req.param("id") ?? "");
      if (!user) return c.json({ error: "User not found" }, 404);
      return c.json(userRepresentation(user));
    }),
  );

  app.put(
    "/admin/realms/:realm/users/:id",
    inRealm(async (c, _caller, realm) => {
      const user = realm.users.get(c.req.param("id") ?? "");
      if (!user) return c.json({ error: "User not found" }, 404);
      const body = userBody.safeParse(await readJson(c));
      if (!body.success) return badRequest(c);
      const { username: _ignored, credentials: _notHere, ...changes } = body.data;
      admin.updateUser(realm.name, user.id, changes);
      return c.body(null, 204);
    }),
  );

  app.delete(
    "/admin/realms/:realm/users/:id",
    inRealm((c, _caller, realm) => {
      const user = realm.users.get(c.req.param("id") ?? "");
      if (!user) return c.json({ error: "User not found" }, 404);
      admin.deleteUser(realm.name, user.id);
      return c.body(null, 204);
    }),
  );

  app.put(
    "/admin/realms/:realm/users/:id/reset-password",
    inRealm(async (c, _caller, realm) => {
      const user = realm.users.get(c.req.param("id") ?? "");
      if (!user) return c.json({ error: "User not found" }, 404);
      const body = credentialBody.safeParse(await readJson(c));
      if (!body.success) return badRequest(c);
      if (body.data.value === undefined) return c.json({ error: "No password provided" }, 400);
      if (!body.data.value.trim()) return c.json({ error: "Empty password" }, 400);
      await admin.setPassword(realm.name, user.id, body.data.value, {
        temporary: body.data.temporary ?? false,
      });
      return c.body(null, 204);
    }),
  );

  app.put(
    "/admin/realms/:realm/users/:id/execute-actions-email",
    inRealm(async (c, _caller, realm) => {
      const user = realm.users.get(c.req.param("id") ?? "");
      if (!user) return c.json({ error: "User not found" }, 404);
      const body = actionsBody.safeParse(await readJson(c));
      if (!body.success) return badRequest(c);
      const lifespan = c.req.query("lifespan");
      const lifespanSeconds = lifespan === undefined ? undefined : Number.parseInt(lifespan, 10);
      if (lifespanSeconds !== undefined && !(lifespanSeconds > 0)) return badRequest(c);
      const clientId = c.req.query("client_id");
      const redirectUri = c.req.query("redirect_uri");
      await admin.sendExecuteActionsEmail(realm.name, user.id, {
        actions: body.data,
        ...(lifespanSeconds !== undefined ? { lifespanSeconds } : {}),
        ...(clientId !== undefined ? { clientId } : {}),
        ...(redirectUri !== undefined ? { redirectUri } : {}),
      });
      return c.body(null, 204);
    }),
  );

  app.post(
    "/admin/realms/:realm/users/:id/logout",
    inRealm((c, _caller, realm) => {
      const user = realm.users.get(c.req.param("id") ?? "");
      if (!user) return c.json({ error: "User not found" }, 404);
      admin.revokeUserSessions(realm.name, user.id);
      return c.body(null, 204);
    }),
  );
}

function adminUrl(store: IdpStore): string {
  return `${store.settings.baseUrl}/admin/realms`;
}

async function readJson(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    return undefined;
  }
}

function badRequest(c: Context): Response {
  return c.json({ error: "HTTP 400 Bad Request" }, 400);
}

function localIdpErrorResponse(c: Context, error: LocalIdpError): Response {
  switch (error.code) {
    case "conflict":
      return c.json({ errorMessage: error.message }, 409);
    case "not_found":
      return c.json({ error: error.message }, 404);
    case "invalid":
      return c.json({ errorMessage: error.message }, 400);
  }
}

function clientRepresentation(client: ClientRecord) {
  return {
    id: client.id,
    clientId: client.clientId,
    enabled: client.enabled,
    clientAuthenticatorType: "client-secret",
    ...(client.secret === null ? {} : { secret: client.secret }),
    redirectUris: client.redirectUris,
    webOrigins: [],
    bearerOnly: false,
    consentRequired: false,
    standardFlowEnabled: client.standardFlowEnabled,
    implicitFlowEnabled: false,
    directAccessGrantsEnabled: client.directAccessGrantsEnabled,
    serviceAccountsEnabled: client.serviceAccountsEnabled,
    publicClient: client.publicClient,
    protocol: "openid-connect",
    fullScopeAllowed: true,
  };
}

function userRepresentation(user: UserRecord) {
  return {
    id: user.id,
    username: user.username,
    ...(user.firstName === null ? {} : { firstName: user.firstName }),
    ...(user.lastName === null ? {} : { lastName: user.lastName }),
    ...(user.email === null ? {} : { email: user.email }),
    emailVerified: user.emailVerified,
    createdTimestamp: user.createdTimestamp,
    enabled: user.enabled,
    totp: false,
    disableableCredentialTypes: [],
    requiredActions: [...user.requiredActions],
    notBefore: 0,
    access: {
      manageGroupMembership: true,
      view: true,
      mapRoles: true,
      impersonate: true,
      manage: true,
    },
  };
}
