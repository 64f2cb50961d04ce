import { Hono } from "hono";
import { createAdmin, type LocalIdpAdmin } from "./admin";
import type { SigningKeyCache } from "./keys";
import { registerAdminRestRoutes } from "./routes/admin-rest";
import { registerDiscoveryRoutes } from "./routes/discovery";
import { registerIntrospectionRoutes } from "./routes/introspect";
import { registerLoginActionRoutes } from "./routes/login-actions";
import { registerLogoutRoutes } from "./routes/logout";
import { registerTokenRoutes } from "./routes/token";
import { registerUserinfoRoutes } from "./routes/userinfo";
import { IdpStore } from "./store";

export type {
  ClientSummary,
  CreateClientInput,
  CreateRealmInput,
  CreateUserInput,
  ExecuteActionsInput,
  LocalIdpAdmin,
  UpdateUserInput,
  UserSummary,
} from "./admin";
export { createSigningKeyCache, type SigningKey, type SigningKeyCache } from "./keys";
export { LocalIdpError, type OutboxEmail } from "./store";

export interface LocalIdentityProviderOptions {
  /** Where the IdP is reachable, e.g. `http://127.0.0.1:8081`; issuers are `{this}/realms/{realm}`. */
  issuerBaseUrl: string;
  /** Milliseconds since the epoch; tests move it to expire tokens and sessions. */
  now?: () => number;
  /** Keycloak's "Access Token Lifespan", default 300 s. */
  accessTokenLifespanSeconds?: number;
  /** Keycloak's "SSO Session Idle", which bounds refresh tokens; default 1800 s. */
  refreshTokenLifespanSeconds?: number;
  /** Keycloak's "SSO Session Max", default 10 hours. */
  sessionMaxLifespanSeconds?: number;
  /** The deployment's environment; `production` is refused. */
  environment?: string;
  /** Seeds a user of realm `master` holding the `admin` role, for the admin REST API. */
  masterAdmin?: { username: string; password: string };
  /** Test suites only: reuse RSA keys across instances (see createSigningKeyCache). */
  keyCache?: SigningKeyCache;
}

export interface LocalIdentityProvider {
  /** Serve it (Bun.serve, a Node adapter) or call it directly with `app.request()`. */
  app: Hono;
  admin: LocalIdpAdmin;
  /** The issuer base URL, without a trailing slash. */
  baseUrl: string;
  issuer(realm: string): string;
}

/**
 * A Keycloak-compatible identity provider held in memory: Keycloak 26's URL layout, token
 * shapes and error answers for everything the API calls. For tests and the embedded default
 * only; it refuses to start in production. See docs/decisions/0010-local-identity-provider.md.
 */
export async function createLocalIdentityProvider(
  options: LocalIdentityProviderOptions,
): Promise<LocalIdentityProvider> {
  if (options.environment === "production") {
    throw new Error(
      "The local identity provider must not run in production: configure a real Keycloak (KEYCLOAK_URL)",
    );
  }
  const store = new IdpStore({
    baseUrl: normalizeBaseUrl(options.issuerBaseUrl),
    now: options.now ?? Date.now,
    accessTokenLifespan: positive(
      options.accessTokenLifespanSeconds,
      300,
      "accessTokenLifespanSeconds",
    ),
    ssoSessionIdle: positive(
      options.refreshTokenLifespanSeconds,
      1800,
      "refreshTokenLifespanSeconds",
    ),
    ssoSessionMax: positive(options.sessionMaxLifespanSeconds, 36_000, "sessionMaxLifespanSeconds"),
    actionTokenLifespan: 43_200,
    ...(options.keyCache ? { keyCache: options.keyCache } : {}),
  });
  const admin = createAdmin(store);
  await admin.createRealm({ realm: "master" });
  if (options.masterAdmin) {
    await admin.createUser("master", {
      username: options.masterAdmin.username,
      password: options.masterAdmin.password,
      realmRoles: ["admin", "create-realm"],
    });
  }

  const app = new Hono();
  registerDiscoveryRoutes(app, store);
  registerTokenRoutes(app, store);
  registerIntrospectionRoutes(app, store);
  registerUserinfoRoutes(app, store);
  registerLogoutRoutes(app, store);
  registerLoginActionRoutes(app, store, admin);
  registerAdminRestRoutes(app, store, admin);
  app.notFound((c) => c.json({ error: "HTTP 404 Not Found" }, 404));
  // Keycloak's answer to anything unexpected; the cause stays on the server.
  app.onError((_error, c) => c.json({ error: "unknown_error" }, 500));

  return {
    app,
    admin,
    baseUrl: store.settings.baseUrl,
    issuer: (realm) => store.issuer(realm),
  };
}

function normalizeBaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError("issuerBaseUrl must be an absolute http(s) URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError("issuerBaseUrl must be an absolute http(s) URL");
  }
  // The routes live at the root, like Keycloak 17+ without the legacy `/auth` prefix.
  if (url.pathname !== "/" || url.search || url.hash || url.username || url.password) {
    throw new TypeError("issuerBaseUrl must be an origin: no path, query, fragment or credentials");
  }
  return url.origin;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0)
    throw new TypeError(`${name} must be a positive integer`);
  return value;
}
