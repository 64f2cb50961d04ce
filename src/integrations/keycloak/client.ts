import { createKeycloakAdminClient, type KeycloakAdminClient } from "./admin-client";
import {
  type IntrospectionResult,
  introspectionSchema,
  type OpenIdConfiguration,
  openidConfigurationSchema,
  tokenResponseSchema,
  type UserInfo,
  userinfoSchema,
} from "./schemas";
import {
  type Exchange,
  exchange,
  type FetchLike,
  keycloakError,
  parseJson,
  realmSegment,
  type Transport,
} from "./transport";

export type { KeycloakAdminClient } from "./admin-client";
export {
  KeycloakError,
  KeycloakInvalidNameError,
  KeycloakMalformedResponseError,
  KeycloakUnavailableError,
} from "./errors";
export type {
  ActiveIntrospection,
  IntrospectionResult,
  KeycloakClientRepresentation,
  KeycloakUser,
  OpenIdConfiguration,
  UserInfo,
} from "./schemas";
export type { FetchLike } from "./transport";

export interface KeycloakClientOptions {
  /** Keycloak's base URL, e.g. `https://id.example.com` (with `/auth` for legacy servers). */
  baseUrl: string;
  /** Defaults to the global fetch; tests pass the local IdP's `app.request`. */
  fetch?: FetchLike;
  /** Deadline for each call, body included; default 5000 ms. */
  timeoutMs?: number;
}

/** A client of a realm; public clients have no secret. */
export interface ClientCredentials {
  realm: string;
  clientId: string;
  clientSecret?: string;
}

export interface TokenSet {
  accessToken: string;
  /** Seconds. */
  expiresIn: number;
  /** Absent for client credentials (Keycloak issues none by default). */
  refreshToken?: string;
  /** Seconds; 0 when there is no refresh token. */
  refreshExpiresIn: number;
  tokenType: "Bearer";
  /** Present when the scope included `openid`. */
  idToken?: string;
  scope: string;
  /** Keycloak's user session id (the tokens' `sid`); absent for client credentials. */
  sessionState?: string;
}

export interface RealmEndpoints {
  issuer: string;
  jwksUri: string;
  tokenEndpoint: string;
  introspectionEndpoint: string;
  userinfoEndpoint: string;
  endSessionEndpoint: string;
}

export interface KeycloakClient {
  /** The URLs of a realm, built locally (no request); throws for an invalid realm name. */
  endpoints(realm: string): RealmEndpoints;
  openidConfiguration(realm: string): Promise<OpenIdConfiguration>;
  passwordGrant(
    input: ClientCredentials & { username: string; password: string; scope?: string },
  ): Promise<TokenSet>;
  refresh(input: ClientCredentials & { refreshToken: string }): Promise<TokenSet>;
  clientCredentials(input: ClientCredentials & { scope?: string }): Promise<TokenSet>;
  /** RFC 7662. A malformed answer throws: callers must treat that as "not active". */
  introspect(
    input: ClientCredentials & {
      token: string;
      tokenTypeHint?: "access_token" | "refresh_token";
    },
  ): Promise<IntrospectionResult>;
  /** Ends the session the refresh token belongs to. */
  logout(input: ClientCredentials & { refreshToken: string }): Promise<void>;
  userinfo(input: { realm: string; accessToken: string }): Promise<UserInfo>;
  /** The admin REST API, called with an admin access token (realm `master` or the realm's own). */
  admin(adminToken: string): KeycloakAdminClient;
}

/**
 * The API's way to talk to Keycloak, real or the local identity provider alike. Web APIs only,
 * so it runs on Bun, Node and Workers. Every answer is validated; every failure is a
 * `KeycloakError` (of a subclass for outages, malformed answers and refused names).
 */
export function createKeycloakClient(options: KeycloakClientOptions): KeycloakClient {
  const transport: Transport = {
    baseUrl: normalizeBaseUrl(options.baseUrl),
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    timeoutMs: options.timeoutMs ?? 5000,
  };

  const oidcPath = (realm: string, operation: string, endpoint: string) =>
    `/realms/${realmSegment(realm, operation)}/protocol/openid-connect/${endpoint}`;

  const postForm = async (
    operation: string,
    path: string,
    form: Record<string, string | undefined>,
  ): Promise<Exchange> => {
    const body = new URLSearchParams();
    for (const [key, value] of Object.entries(form)) if (value !== undefined) body.set(key, value);
    return exchange(transport, operation, path, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        Accept: "application/json",
      },
      body: body.toString(),
    });
  };

  const tokenRequest = async (
    operation: string,
    realm: string,
    form: Record<string, string | undefined>,
  ): Promise<TokenSet> => {
    const response = await postForm(operation, oidcPath(realm, operation, "token"), form);
    if (response.status !== 200) throw keycloakError(response, operation);
    const token = parseJson(response, tokenResponseSchema, operation);
    return {
      accessToken: token.access_token,
      expiresIn: token.expires_in,
      ...(token.refresh_token ? { refreshToken: token.refresh_token } : {}),
      refreshExpiresIn: token.refresh_expires_in,
      tokenType: "Bearer",
      ...(token.id_token ? { idToken: token.id_token } : {}),
      scope: token.scope,
      ...(token.session_state ? { sessionState: token.session_state } : {}),
    };
  };

  const client: KeycloakClient = {
    endpoints(realm) {
      const issuer = `${transport.baseUrl}/realms/${realmSegment(realm, "endpoints")}`;
      const oidc = `${issuer}/protocol/openid-connect`;
      return {
        issuer,
        jwksUri: `${oidc}/certs`,
        tokenEndpoint: `${oidc}/token`,
        introspectionEndpoint: `${oidc}/token/introspect`,
        userinfoEndpoint: `${oidc}/userinfo`,
        endSessionEndpoint: `${oidc}/logout`,
      };
    },

    async openidConfiguration(realm) {
      const operation = "discovery";
      const path = `/realms/${realmSegment(realm, operation)}/.well-known/openid-configuration`;
      const response = await exchange(transport, operation, path, {
        method: "GET",
        headers: { Accept: "application/json" },
      });
      if (response.status !== 200) throw keycloakError(response, operation);
      return parseJson(response, openidConfigurationSchema, operation);
    },

    passwordGrant({ realm, clientId, clientSecret, username, password, scope }) {
      return tokenRequest("password grant", realm, {
        grant_type: "password",
        client_id: clientId,
        client_secret: clientSecret,
        username,
        password,
        scope,
      });
    },

    refresh({ realm, clientId, clientSecret, refreshToken }) {
      return tokenRequest("refresh", realm, {
        grant_type: "refresh_token",
        client_id: clientId,
        client_secret: clientSecret,
        refresh_token: refreshToken,
      });
    },

    clientCredentials({ realm, clientId, clientSecret, scope }) {
      return tokenRequest("client credentials grant", realm, {
        grant_type: "client_credentials",
        client_id: clientId,
        client_secret: clientSecret,
        scope,
      });
    },

    async introspect({ realm, clientId, clientSecret, token, tokenTypeHint }) {
      const operation = "introspection";
      const response = await postForm(operation, oidcPath(realm, operation, "token/introspect"), {
        client_id: clientId,
        client_secret: clientSecret,
        token,
        token_type_hint: tokenTypeHint,
      });
      if (response.status !== 200) throw keycloakError(response, operation);
      return parseJson(response, introspectionSchema, operation);
    },

    async logout({ realm, clientId, clientSecret, refreshToken }) {
      const operation = "logout";
      const response = await postForm(operation, oidcPath(realm, operation, "logout"), {
        client_id: clientId,
        client_secret: clientSecret,
        refresh_token: refreshToken,
      });
      if (response.status !== 204 && response.status !== 200) {
        throw keycloakError(response, operation);
      }
    },

    async userinfo({ realm, accessToken }) {
      const operation = "userinfo";
      const response = await exchange(
        transport,
        operation,
        oidcPath(realm, operation, "userinfo"),
        {
          method: "GET",
          headers: { Authorization: `Bearer ${accessToken}`, Accept: "application/json" },
        },
      );
      if (response.status !== 200) throw keycloakError(response, operation);
      return parseJson(response, userinfoSchema, operation);
    },

    admin(adminToken) {
      return createKeycloakAdminClient(transport, adminToken);
    },
  };
  return client;
}

function normalizeBaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError("Keycloak baseUrl must be an absolute http(s) URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError("Keycloak baseUrl must be an absolute http(s) URL");
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new TypeError("Keycloak baseUrl must not carry a query, fragment or credentials");
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
}
