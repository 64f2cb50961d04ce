import { isValidRealmName } from "../realm-name";
import { generateHmacKey } from "./keys";
import { generateClientSecret, hashPassword } from "./passwords";
import {
  type ClientRecord,
  findClientByClientId,
  findUserByEmail,
  findUserByUsername,
  type IdpStore,
  LocalIdpError,
  type OutboxEmail,
  type RealmRecord,
  removeUserSessions,
  requireUser,
  type UserRecord,
} from "./store";
import { signWithHmacKey } from "./tokens";

export interface CreateRealmInput {
  realm: string;
  enabled?: boolean;
  displayName?: string;
}

export interface CreateClientInput {
  clientId: string;
  /** For confidential clients; generated like Keycloak does when omitted. */
  secret?: string;
  publicClient?: boolean;
  enabled?: boolean;
  serviceAccountsEnabled?: boolean;
  directAccessGrantsEnabled?: boolean;
  standardFlowEnabled?: boolean;
  redirectUris?: string[];
  /** First `aud` entry of this client's access tokens (an Audience mapper); default clientId. */
  audience?: string;
}

export interface ClientSummary {
  id: string;
  clientId: string;
  secret: string | null;
  serviceAccountUserId: string | null;
}

export interface CreateUserInput {
  username: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  enabled?: boolean;
  emailVerified?: boolean;
  password?: string;
  /** A temporary password makes Keycloak require UPDATE_PASSWORD before any direct grant. */
  temporaryPassword?: boolean;
  requiredActions?: string[];
  realmRoles?: string[];
}

export interface UserSummary {
  id: string;
  username: string;
  email: string | null;
  enabled: boolean;
}

export interface UpdateUserInput {
  email?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  enabled?: boolean;
  emailVerified?: boolean;
  requiredActions?: string[];
}

export interface ExecuteActionsInput {
  actions: string[];
  /** Seconds; Keycloak's default for admin-initiated actions is 12 hours. */
  lifespanSeconds?: number;
  clientId?: string;
  redirectUri?: string;
}

/** The actions the action-token page can carry out. */
export const SUPPORTED_ACTIONS = ["UPDATE_PASSWORD", "VERIFY_EMAIL"] as const;

/**
 * The programmatic side of the local identity provider, for tests and seeding. The admin REST
 * routes call the same functions, so both paths share one set of rules.
 */
export interface LocalIdpAdmin {
  createRealm(input: CreateRealmInput): Promise<{ id: string; realm: string }>;
  deleteRealm(realm: string): void;
  hasRealm(realm: string): boolean;
  createClient(realm: string, input: CreateClientInput): ClientSummary;
  findClient(realm: string, clientId: string): ClientSummary | undefined;
  createUser(realm: string, input: CreateUserInput): Promise<UserSummary>;
  findUser(realm: string, username: string): UserSummary | undefined;
  updateUser(realm: string, userId: string, input: UpdateUserInput): void;
  /** Ends the user's sessions and removes the account (Keycloak's DELETE …/users/{id}). */
  deleteUser(realm: string, userId: string): void;
  setUserEnabled(realm: string, userId: string, enabled: boolean): void;
  setPassword(
    realm: string,
    userId: string,
    password: string,
    options?: { temporary?: boolean },
  ): Promise<void>;
  assignRealmRoles(realm: string, userId: string, roles: string[]): void;
  assignClientRoles(realm: string, userId: string, clientId: string, roles: string[]): void;
  /** The `realm-management` / `realm-admin` role: full admin REST access to that realm. */
  grantRealmAdmin(realm: string, userId: string): void;
  /** The user behind a client's service account, for role grants. */
  serviceAccountUserId(realm: string, clientId: string): string;
  /** Adds a new active signing key; the old ones still verify and stay in the JWKS. */
  rotateKeys(realm: string): Promise<string>;
  /** Removes every signing key but the active one; returns the removed kids. */
  removeOldKeys(realm: string): string[];
  activeKid(realm: string): string;
  /** Ends every session of the user; returns how many there were. */
  revokeUserSessions(realm: string, userId: string): number;
  sessionCount(realm: string): number;
  /** Failure injection: false makes the JWKS endpoint answer 503. */
  setCertsAvailable(realm: string, available: boolean): void;
  certsRequests(realm: string): number;
  sendExecuteActionsEmail(
    realm: string,
    userId: string,
    input: ExecuteActionsInput,
  ): Promise<OutboxEmail>;
  /** Every email "sent", oldest first. */
  readonly outbox: readonly OutboxEmail[];
}

export function createAdmin(store: IdpStore): LocalIdpAdmin {
  const summary = (client: ClientRecord): ClientSummary => ({
    id: client.id,
    clientId: client.clientId,
    secret: client.secret,
    serviceAccountUserId: client.serviceAccountUserId,
  });
  const userSummary = (user: UserRecord): UserSummary => ({
    id: user.id,
    username: user.username,
    email: user.email,
    enabled: user.enabled,
  });

  const admin: LocalIdpAdmin = {
    async createRealm(input) {
      if (!isValidRealmName(input.realm)) throw new LocalIdpError("invalid", "Invalid realm name");
      if (store.realms.has(input.realm)) {
        throw new LocalIdpError("conflict", "Conflict detected. See logs for details");
      }
      const realm: RealmRecord = {
        id: crypto.randomUUID(),
        name: input.realm,
        enabled: input.enabled ?? true,
        displayName: input.displayName ?? null,
        signingKeys: [await store.newSigningKey()],
        hmacKey: await generateHmacKey(),
        clients: new Map(),
        users: new Map(),
        sessions: new Map(),
        usedActionTokens: new Map(),
        certsAvailable: true,
        certsRequests: 0,
      };
      // Checked again: another call may have created it while the keys were generated.
      if (store.realms.has(input.realm)) {
        throw new LocalIdpError("conflict", "Conflict detected. See logs for details");
      }
      store.realms.set(realm.name, realm);
      // Every Keycloak realm has the public `admin-cli` client used for admin logins.
      admin.createClient(realm.name, {
        clientId: "admin-cli",
        publicClient: true,
        directAccessGrantsEnabled: true,
        standardFlowEnabled: false,
      });
      return { id: realm.id, realm: realm.name };
    },

    deleteRealm(name) {
      if (name === "master")
        throw new LocalIdpError("invalid", "The master realm cannot be removed");
      store.requireRealm(name);
      store.realms.delete(name);
    },

    hasRealm: (name) => store.realms.has(name),

    createClient(realmName, input) {
      const realm = store.requireRealm(realmName);
      if (!input.clientId) throw new LocalIdpError("invalid", "Client id is required");
      if (findClientByClientId(realm, input.clientId)) {
        throw new LocalIdpError("conflict", `Client ${input.clientId} already exists`);
      }
      const publicClient = input.publicClient ?? false;
      const client: ClientRecord = {
        id: crypto.randomUUID(),
        clientId: input.clientId,
        secret: publicClient ? null : (input.secret ?? generateClientSecret()),
        publicClient,
        enabled: input.enabled ?? true,
        serviceAccountsEnabled: input.serviceAccountsEnabled ?? false,
        directAccessGrantsEnabled: input.directAccessGrantsEnabled ?? false,
        standardFlowEnabled: input.standardFlowEnabled ?? true,
        redirectUris: input.redirectUris ?? [],
        audience: input.audience ?? input.clientId,
        serviceAccountUserId: null,
      };
      realm.clients.set(client.id, client);
      if (client.serviceAccountsEnabled && !publicClient) {
        const user = newUser({ username: `service-account-${client.clientId}` }, store);
        user.serviceAccountClientId = client.clientId;
        realm.users.set(user.id, user);
        client.serviceAccountUserId = user.id;
      }
      return summary(client);
    },

    findClient(realmName, clientId) {
      const client = findClientByClientId(store.requireRealm(realmName), clientId);
      return client && summary(client);
    },

    async createUser(realmName, input) {
      const realm = store.requireRealm(realmName);
      const user = newUser(input, store);
      if (!user.username) throw new LocalIdpError("invalid", "Username is required");
      if (findUserByUsername(realm, user.username)) {
        throw new LocalIdpError("conflict", "User exists with same username");
      }
      if (user.email && findUserByEmail(realm, user.email)) {
        throw new LocalIdpError("conflict", "User exists with same email");
      }
      if (input.password !== undefined) {
        user.password = await hashPassword(input.password);
        if (input.temporaryPassword) user.requiredActions.add("UPDATE_PASSWORD");
      }
      // Checked again after the (slow) hash: a concurrent call may have taken the name.
      if (findUserByUsername(realm, user.username)) {
        throw new LocalIdpError("conflict", "User exists with same username");
      }
      realm.users.set(user.id, user);
      return userSummary(user);
    },

    findUser(realmName, username) {
      const user = findUserByUsername(store.requireRealm(realmName), username);
      return user && userSummary(user);
    },

    updateUser(realmName, userId, input) {
      const realm = store.requireRealm(realmName);
      const user = requireUser(realm, userId);
      if (input.email !== undefined) {
        const email = input.email?.toLowerCase() ?? null;
        const owner = email ? findUserByEmail(realm, email) : undefined;
        if (owner && owner.id !== user.id) {
          throw new LocalIdpError("conflict", "User exists with same email");
        }
        user.email = email;
      }
      if (input.firstName !== undefined) user.firstName = input.firstName;
      if (input.lastName !== undefined) user.lastName = input.lastName;
      if (input.emailVerified !== undefined) user.emailVerified = input.emailVerified;
      if (input.requiredActions !== undefined)
        user.requiredActions = new Set(input.requiredActions);
      if (input.enabled !== undefined) user.enabled = input.enabled;
    },

    setUserEnabled(realmName, userId, enabled) {
      admin.updateUser(realmName, userId, { enabled });
    },

    async setPassword(realmName, userId, password, options = {}) {
      const user = requireUser(store.requireRealm(realmName), userId);
      if (!password) throw new LocalIdpError("invalid", "Empty password");
      user.password = await hashPassword(password);
      if (options.temporary) user.requiredActions.add("UPDATE_PASSWORD");
      else user.requiredActions.delete("UPDATE_PASSWORD");
    },

    assignRealmRoles(realmName, userId, roles) {
      const user = requireUser(store.requireRealm(realmName), userId);
      for (const role of roles) user.realmRoles.add(role);
    },

    assignClientRoles(realmName, userId, clientId, roles) {
      const user = requireUser(store.requireRealm(realmName), userId);
      const held = user.clientRoles.get(clientId) ?? new Set<string>();
      for (const role of roles) held.add(role);
      user.clientRoles.set(clientId, held);
    },

    grantRealmAdmin(realmName, userId) {
      admin.assignClientRoles(realmName, userId, "realm-management", ["realm-admin"]);
    },

    serviceAccountUserId(realmName, clientId) {
      const client = findClientByClientId(store.requireRealm(realmName), clientId);
      if (!client?.serviceAccountUserId) {
        throw new LocalIdpError("not_found", `Client ${clientId} has no service account`);
      }
      return client.serviceAccountUserId;
    },

    async rotateKeys(realmName) {
      const realm = store.requireRealm(realmName);
      const key = await store.newSigningKey();
      realm.signingKeys.push(key);
      return key.kid;
    },

    removeOldKeys(realmName) {
      const realm = store.requireRealm(realmName);
      const removed = realm.signingKeys.slice(0, -1).map((key) => key.kid);
      realm.signingKeys = realm.signingKeys.slice(-1);
      return removed;
    },

    activeKid(realmName) {
      const key = store.requireRealm(realmName).signingKeys.at(-1);
      if (!key) throw new LocalIdpError("not_found", "The realm has no signing key");
      return key.kid;
    },

    deleteUser(realmName, userId) {
      const realm = store.requireRealm(realmName);
      requireUser(realm, userId);
      removeUserSessions(realm, userId);
      realm.users.delete(userId);
    },

    revokeUserSessions(realmName, userId) {
      const realm = store.requireRealm(realmName);
      requireUser(realm, userId);
      return removeUserSessions(realm, userId);
    },

    sessionCount: (realmName) => store.requireRealm(realmName).sessions.size,

    setCertsAvailable(realmName, available) {
      store.requireRealm(realmName).certsAvailable = available;
    },

    certsRequests: (realmName) => store.requireRealm(realmName).certsRequests,

    async sendExecuteActionsEmail(realmName, userId, input) {
      const realm = store.requireRealm(realmName);
      const user = requireUser(realm, userId);
      if (!user.email) throw new LocalIdpError("invalid", "User email missing");
      if (!user.enabled) throw new LocalIdpError("invalid", "User is disabled");
      if (input.redirectUri !== undefined && input.clientId === undefined) {
        throw new LocalIdpError("invalid", "Client id missing");
      }
      if (input.clientId !== undefined) {
        const client = findClientByClientId(realm, input.clientId);
        if (!client?.enabled) throw new LocalIdpError("invalid", "Client doesn't exist");
        if (input.redirectUri !== undefined && !client.redirectUris.includes(input.redirectUri)) {
          throw new LocalIdpError("invalid", "Invalid redirect uri.");
        }
      }
      const supported: readonly string[] = SUPPORTED_ACTIONS;
      if (input.actions.length === 0 || !input.actions.every((a) => supported.includes(a))) {
        throw new LocalIdpError("invalid", "Provided invalid required actions");
      }
      const iat = store.nowSeconds();
      const exp = iat + (input.lifespanSeconds ?? store.settings.actionTokenLifespan);
      const issuer = store.issuer(realm);
      const key = await signWithHmacKey(realm, {
        exp,
        iat,
        jti: crypto.randomUUID(),
        iss: issuer,
        aud: issuer,
        sub: user.id,
        typ: "execute-actions",
        rqac: input.actions,
        eml: user.email,
        ...(input.clientId !== undefined ? { azp: input.clientId } : {}),
        ...(input.redirectUri !== undefined ? { reduri: input.redirectUri } : {}),
      });
      const link = new URL(`${issuer}/login-actions/action-token`);
      link.searchParams.set("key", key);
      if (input.clientId !== undefined) link.searchParams.set("client_id", input.clientId);
      const email: OutboxEmail = {
        realm: realm.name,
        to: user.email,
        userId: user.id,
        actions: [...input.actions],
        link: link.toString(),
        expiresAt: exp,
      };
      store.outbox.push(email);
      return email;
    },

    get outbox() {
      return store.outbox;
    },
  };
  return admin;
}

function newUser(input: CreateUserInput, store: IdpStore): UserRecord {
  const user: UserRecord = {
    id: crypto.randomUUID(),
    username: input.username.trim().toLowerCase(),
    email: input.email ? input.email.trim().toLowerCase() : null,
    firstName: input.firstName ?? null,
    lastName: input.lastName ?? null,
    enabled: input.enabled ?? true,
    emailVerified: input.emailVerified ?? false,
    createdTimestamp: store.settings.now(),
    password: null,
    requiredActions: new Set(input.requiredActions ?? []),
    realmRoles: new Set(input.realmRoles ?? []),
    clientRoles: new Map(),
    serviceAccountClientId: null,
  };
  return user;
}
