import type { Config } from "../config";
import {
  createLocalIdentityProvider,
  type LocalIdentityProvider,
  type SigningKeyCache,
} from "../integrations/keycloak/local-idp";

/**
 * The development sign-in, shown in the README: a platform superadmin in the local identity
 * provider's admin realm. Only ever created by the local identity provider, which refuses to run
 * in production.
 */
export const LOCAL_SUPERADMIN = {
  username: "superadmin",
  password: "NeoAdmin-local-2026",
  email: "superadmin@neoadmin.local",
  firstName: "Platform",
  lastName: "Superadmin",
} as const;

export interface LocalIdentity {
  idp: LocalIdentityProvider;
  url: string;
  clientSecret: string;
  /** The superadmin's id in the identity provider (its tokens' `sub`). */
  superadminExternalId: string;
}

/**
 * The local, Keycloak-compatible identity provider with the admin realm, this API's confidential
 * client (whose service account may call the realm's admin REST API) and the superadmin.
 */
export async function createLocalIdentity(
  config: Config,
  options: {
    baseUrl: string;
    keyCache?: SigningKeyCache;
    now?: () => number;
    /** The benchmark's long-lived tokens; Keycloak's default (300 s) otherwise. */
    accessTokenLifespanSeconds?: number;
  },
): Promise<LocalIdentity> {
  const idp = await createLocalIdentityProvider({
    issuerBaseUrl: options.baseUrl,
    environment: config.environment,
    ...(options.accessTokenLifespanSeconds
      ? { accessTokenLifespanSeconds: options.accessTokenLifespanSeconds }
      : {}),
    ...(options.keyCache ? { keyCache: options.keyCache } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const realm = config.keycloak.adminRealm;
  await idp.admin.createRealm({ realm, enabled: true, displayName: "NeoAdmin platform" });
  const client = idp.admin.createClient(realm, {
    clientId: config.keycloak.clientId,
    directAccessGrantsEnabled: true,
    serviceAccountsEnabled: true,
    audience: config.keycloak.audience,
  });
  idp.admin.grantRealmAdmin(realm, idp.admin.serviceAccountUserId(realm, config.keycloak.clientId));
  const superadmin = await idp.admin.createUser(realm, {
    username: LOCAL_SUPERADMIN.username,
    email: LOCAL_SUPERADMIN.email,
    firstName: LOCAL_SUPERADMIN.firstName,
    lastName: LOCAL_SUPERADMIN.lastName,
    emailVerified: true,
    enabled: true,
    password: LOCAL_SUPERADMIN.password,
  });
  return {
    idp,
    url: idp.baseUrl,
    clientSecret: client.secret ?? "",
    superadminExternalId: superadmin.id,
  };
}
