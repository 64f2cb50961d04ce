import { generateSigningKey, type HmacKey, type SigningKey, type SigningKeyCache } from "./keys";
import type { PasswordHash } from "./passwords";

/** What a Keycloak client (an OAuth client, not our HTTP client) holds. */
export interface ClientRecord {
  /** Keycloak's internal id (a UUID), used in admin REST paths. */
  id: string;
  clientId: string;
  /** Null for public clients. */
  secret: string | null;
  publicClient: boolean;
  enabled: boolean;
  serviceAccountsEnabled: boolean;
  directAccessGrantsEnabled: boolean;
  standardFlowEnabled: boolean;
  redirectUris: string[];
  /**
   * Put first in `aud` of the access tokens issued to this client, as a Keycloak "Audience"
   * protocol mapper would. Defaults to the clientId.
   */
  audience: string;
  serviceAccountUserId: string | null;
}

export interface UserRecord {
  id: string;
  /** Keycloak stores usernames and emails lowercased. */
  username: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  enabled: boolean;
  emailVerified: boolean;
  createdTimestamp: number;
  password: PasswordHash | null;
  /** `UPDATE_PASSWORD`, `VERIFY_EMAIL` ...: while any is pending, direct grants are refused. */
  requiredActions: Set<string>;
  realmRoles: Set<string>;
  /** clientId -> role names, e.g. `realm-management` -> `realm-admin`. */
  clientRoles: Map<string, Set<string>>;
  /** Set for the user Keycloak creates behind a client's service account. */
  serviceAccountClientId: string | null;
}

/** A user session (Keycloak's SSO session) with the one client it was started from. */
export interface SessionRecord {
  id: string;
  userId: string;
  clientId: string;
  /** Seconds since the epoch, like every time in tokens. */
  started: number;
  lastRefresh: number;
  scope: string;
}

export interface RealmRecord {
  id: string;
  name: string;
  enabled: boolean;
  displayName: string | null;
  /** Newest last; the newest signs, all of them verify and are published. */
  signingKeys: SigningKey[];
  /** Signs refresh tokens and action tokens (HS512), which only this server reads. */
  hmacKey: HmacKey;
  clients: Map<string, ClientRecord>;
  users: Map<string, UserRecord>;
  sessions: Map<string, SessionRecord>;
  /** jti -> expiry (seconds) of action tokens already used: they are single-use. */
  usedActionTokens: Map<string, number>;
  certsAvailable: boolean;
  certsRequests: number;
}

export interface OutboxEmail {
  realm: string;
  to: string;
  userId: string;
  actions: string[];
  /** The link Keycloak would put in the email; the local IdP serves it. */
  link: string;
  /** Seconds since the epoch. */
  expiresAt: number;
}

export interface IdpSettings {
  /** Without a trailing slash, e.g. `http://127.0.0.1:8081`. */
  baseUrl: string;
  now: () => number;
  accessTokenLifespan: number;
  /** Keycloak's "SSO Session Idle": how long a session lives without a refresh. */
  ssoSessionIdle: number;
  /** Keycloak's "SSO Session Max". */
  ssoSessionMax: number;
  /** Keycloak's "Default admin-initiated action lifespan" (12 hours). */
  actionTokenLifespan: number;
  keyCache?: SigningKeyCache;
}

/** The realm roles every Keycloak user holds through `default-roles-{realm}`. */
export function defaultRealmRoles(realm: string): string[] {
  return [`default-roles-${realm.toLowerCase()}`, "offline_access", "uma_authorization"];
}

/** The `account` client roles every Keycloak user holds by default (hence `aud: "account"`). */
export const DEFAULT_ACCOUNT_ROLES = ["manage-account", "manage-account-links", "view-profile"];

export class IdpStore {
  readonly realms = new Map<string, RealmRecord>();
  readonly outbox: OutboxEmail[] = [];

  private keysHandedOut = 0;

  constructor(readonly settings: IdpSettings) {}

  /** A new RSA signing key, never one this instance has used before. */
  newSigningKey(): Promise<SigningKey> {
    const cache = this.settings.keyCache;
    return cache ? cache.keyAt(this.keysHandedOut++) : generateSigningKey();
  }

  /** Current time in whole seconds, the unit of every token claim. */
  nowSeconds(): number {
    return Math.floor(this.settings.now() / 1000);
  }

  issuer(realm: RealmRecord | string): string {
    const name = typeof realm === "string" ? realm : realm.name;
    return `${this.settings.baseUrl}/realms/${name}`;
  }

  realm(name: string): RealmRecord | undefined {
    return this.realms.get(name);
  }

  requireRealm(name: string): RealmRecord {
    const realm = this.realms.get(name);
    if (!realm) throw new LocalIdpError("not_found", `Realm ${name} does not exist`);
    return realm;
  }

  isSessionActive(session: SessionRecord): boolean {
    return this.sessionExpiry(session) > this.nowSeconds();
  }

  /** When the session ends if nobody refreshes it: the earlier of idle and max timeouts. */
  sessionExpiry(session: SessionRecord): number {
    return Math.min(
      session.lastRefresh + this.settings.ssoSessionIdle,
      session.started + this.settings.ssoSessionMax,
    );
  }
}

export function findClientByClientId(
  realm: RealmRecord,
  clientId: string,
): ClientRecord | undefined {
  for (const client of realm.clients.values()) if (client.clientId === clientId) return client;
  return undefined;
}

export function findUserByUsername(realm: RealmRecord, username: string): UserRecord | undefined {
  const wanted = username.toLowerCase();
  for (const user of realm.users.values()) if (user.username === wanted) return user;
  return undefined;
}

export function findUserByEmail(realm: RealmRecord, email: string): UserRecord | undefined {
  const wanted = email.toLowerCase();
  for (const user of realm.users.values()) if (user.email === wanted) return user;
  return undefined;
}

/** Keycloak's login accepts the username or, by default, the email address. */
export function findUserByUsernameOrEmail(
  realm: RealmRecord,
  login: string,
): UserRecord | undefined {
  return findUserByUsername(realm, login) ?? findUserByEmail(realm, login);
}

export function requireUser(realm: RealmRecord, userId: string): UserRecord {
  const user = realm.users.get(userId);
  if (!user) throw new LocalIdpError("not_found", "User not found");
  return user;
}

export function removeUserSessions(realm: RealmRecord, userId: string): number {
  let removed = 0;
  for (const [id, session] of realm.sessions) {
    if (session.userId === userId) {
      realm.sessions.delete(id);
      removed++;
    }
  }
  return removed;
}

/** Misuse of the programmatic admin API (tests and seeding); never carries a secret. */
export class LocalIdpError extends Error {
  override name = "LocalIdpError";

  constructor(
    readonly code: "not_found" | "conflict" | "invalid",
    message: string,
  ) {
    super(message);
  }
}
