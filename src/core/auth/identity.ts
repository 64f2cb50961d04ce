import {
  createKeycloakClient,
  type FetchLike,
  type KeycloakClient,
  KeycloakMalformedResponseError,
} from "../../integrations/keycloak/client";
import type { Cache } from "../cache/port";
import type { Logger } from "../log/logger";
import { createIntrospector, type Introspector } from "./introspection";
import { PermissionChecker } from "./permission-checker";
import { createTokenVerifier, type TokenVerifier } from "./token-verifier";

/**
 * What protected routes need to authenticate and authorize, built once per process or isolate.
 * Absent when no identity provider is configured (Workers without KEYCLOAK_URL): protected routes
 * then answer 503 rather than let anyone in.
 */
export interface Identity {
  verifier: TokenVerifier;
  introspector: Introspector;
  permissions: PermissionChecker;
  keycloak: KeycloakClient;
  /** The realm platform administrators sign in to (configuration, never the token). */
  adminRealm: string;
  audience: string;
  /** This API's client in the admin realm. */
  client: { realm: string; clientId: string; clientSecret?: string };
}

export interface IdentityOptions {
  keycloakUrl: string;
  adminRealm: string;
  clientId: string;
  clientSecret?: string;
  audience: string;
  clockSkewSeconds: number;
  cache: Cache;
  logger: Logger;
  /** Tests reach the local identity provider without a socket. */
  fetch?: FetchLike;
}

export function createIdentity(options: IdentityOptions): Identity {
  const fetchLike = options.fetch;
  const keycloak = createKeycloakClient({
    baseUrl: options.keycloakUrl,
    ...(fetchLike ? { fetch: fetchLike } : {}),
  });
  const client = {
    realm: options.adminRealm,
    clientId: options.clientId,
    ...(options.clientSecret ? { clientSecret: options.clientSecret } : {}),
  };
  const logError = (message: string, fields: Record<string, unknown>) =>
    options.logger.warn(message, fields);
  const verifier = createTokenVerifier({
    keycloakUrl: options.keycloakUrl,
    clockSkewSeconds: options.clockSkewSeconds,
    cache: options.cache,
    logError,
    ...(fetchLike ? { fetch: async (input, init) => fetchLike(input, init) } : {}),
  });
  const introspector = createIntrospector({
    keycloakUrl: options.keycloakUrl,
    cache: options.cache,
    logError,
    introspect: async (realm, token) => {
      try {
        return await keycloak.introspect({ ...client, realm, token });
      } catch (error) {
        // An answer we cannot read is "not active" (fail closed); no answer at all is an outage.
        if (error instanceof KeycloakMalformedResponseError) return null;
        throw error;
      }
    },
  });
  return {
    verifier,
    introspector,
    permissions: new PermissionChecker({ cache: options.cache }),
    keycloak,
    adminRealm: options.adminRealm,
    audience: options.audience,
    client,
  };
}
