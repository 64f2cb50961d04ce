import type { Introspector } from "./introspection";
import type { PermissionChecker } from "./permission-checker";
import type { TokenVerifier } from "./token-verifier";

/**
 * What protected routes need to authenticate and authorize, built once per process or isolate.
 * Absent when no identity provider is configured (Workers without KEYCLOAK_URL): protected routes
 * then answer 503 rather than let anyone in.
 */
export interface Identity {
  verifier: TokenVerifier;
  introspector: Introspector;
  permissions: PermissionChecker;
  /** The realm platform administrators sign in to (configuration, never the token). */
  adminRealm: string;
  audience: string;
}
