import { z } from "zod";
import { KeycloakMalformedResponseError } from "./errors";
import {
  clientRepresentationSchema,
  clientSecretSchema,
  type KeycloakClientRepresentation,
  type KeycloakUser,
  userRepresentationSchema,
} from "./schemas";
import {
  type Exchange,
  exchange,
  idSegment,
  keycloakError,
  parseJson,
  realmSegment,
  type Transport,
} from "./transport";

export interface CreateKeycloakRealm {
  realm: string;
  enabled?: boolean;
  displayName?: string;
}

export interface CreateKeycloakClient {
  clientId: string;
  secret?: string;
  publicClient?: boolean;
  serviceAccountsEnabled?: boolean;
  directAccessGrantsEnabled?: boolean;
  standardFlowEnabled?: boolean;
  enabled?: boolean;
  redirectUris?: string[];
}

export interface CreateKeycloakUser {
  username: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  enabled?: boolean;
  emailVerified?: boolean;
  /** An initial password; a temporary one must be changed before any direct grant works. */
  password?: { value: string; temporary: boolean };
  requiredActions?: string[];
}

export interface KeycloakAdminClient {
  createRealm(input: CreateKeycloakRealm): Promise<void>;
  deleteRealm(realm: string): Promise<void>;
  /** Returns Keycloak's id of the new client (not its clientId). */
  createClient(realm: string, input: CreateKeycloakClient): Promise<string>;
  findClientByClientId(
    realm: string,
    clientId: string,
  ): Promise<KeycloakClientRepresentation | null>;
  /** The secret of a confidential client; null for a public one. */
  getClientSecret(realm: string, id: string): Promise<string | null>;
  /** Returns the new user's id, read from the `Location` header. */
  createUser(realm: string, input: CreateKeycloakUser): Promise<string>;
  findUserByUsername(realm: string, username: string): Promise<KeycloakUser | null>;
  resetPassword(
    realm: string,
    userId: string,
    password: { value: string; temporary: boolean },
  ): Promise<void>;
  executeActionsEmail(
    realm: string,
    userId: string,
    input: { actions: string[]; lifespanSeconds?: number; clientId?: string; redirectUri?: string },
  ): Promise<void>;
  /** Ends every session of the user. */
  logoutUser(realm: string, userId: string): Promise<void>;
}

export function createKeycloakAdminClient(
  transport: Transport,
  adminToken: string,
): KeycloakAdminClient {
  const call = async (
    operation: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<Exchange> => {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${adminToken}`,
      Accept: "application/json",
    };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return exchange(transport, operation, `/admin/realms${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  };

  const expect = (response: Exchange, operation: string, ...statuses: number[]) => {
    if (!statuses.includes(response.status)) throw keycloakError(response, operation);
  };

  const realmPath = (realm: string, operation: string) => `/${realmSegment(realm, operation)}`;

  /** The id Keycloak names in `Location: {base}/admin/realms/{realm}/{kind}/{id}`. */
  const createdId = (response: Exchange, operation: string, realm: string, kind: string) => {
    const location = response.headers.get("location");
    const prefix = `/admin/realms/${realm}/${kind}/`;
    const path = location ? new URL(location, `${transport.baseUrl}/`).pathname : "";
    const id = path.includes(prefix) ? path.slice(path.lastIndexOf(prefix) + prefix.length) : "";
    if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) {
      throw new KeycloakMalformedResponseError(
        response.status,
        "malformed_response",
        "the Location header names no created resource",
        operation,
      );
    }
    return id;
  };

  return {
    async createRealm(input) {
      const operation = "create realm";
      realmSegment(input.realm, operation);
      expect(await call(operation, "POST", "", input), operation, 201);
    },

    async deleteRealm(realm) {
      const operation = "delete realm";
      expect(await call(operation, "DELETE", realmPath(realm, operation)), operation, 204);
    },

    async createClient(realm, input) {
      const operation = "create client";
      const response = await call(operation, "POST", `${realmPath(realm, operation)}/clients`, {
        protocol: "openid-connect",
        ...input,
      });
      expect(response, operation, 201);
      return createdId(response, operation, realm, "clients");
    },

    async findClientByClientId(realm, clientId) {
      const operation = "find client";
      const query = new URLSearchParams({ clientId });
      const response = await call(
        operation,
        "GET",
        `${realmPath(realm, operation)}/clients?${query}`,
      );
      expect(response, operation, 200);
      const clients = parseJson(response, z.array(clientRepresentationSchema), operation);
      return clients.find((client) => client.clientId === clientId) ?? null;
    },

    async getClientSecret(realm, id) {
      const operation = "get client secret";
      const path = `${realmPath(realm, operation)}/clients/${idSegment(id, operation)}/client-secret`;
      const response = await call(operation, "GET", path);
      expect(response, operation, 200);
      return parseJson(response, clientSecretSchema, operation).value ?? null;
    },

    async createUser(realm, input) {
      const operation = "create user";
      const { password, ...user } = input;
      const response = await call(operation, "POST", `${realmPath(realm, operation)}/users`, {
        ...user,
        ...(password
          ? {
              credentials: [
                { type: "password", value: password.value, temporary: password.temporary },
              ],
            }
          : {}),
      });
      expect(response, operation, 201);
      return createdId(response, operation, realm, "users");
    },

    async findUserByUsername(realm, username) {
      const operation = "find user";
      const query = new URLSearchParams({ username, exact: "true" });
      const response = await call(
        operation,
        "GET",
        `${realmPath(realm, operation)}/users?${query}`,
      );
      expect(response, operation, 200);
      const users = parseJson(response, z.array(userRepresentationSchema), operation);
      // Keycloak stores usernames lowercased; `exact` still matches case-insensitively.
      return users.find((user) => user.username === username.toLowerCase()) ?? null;
    },

    async resetPassword(realm, userId, password) {
      const operation = "reset password";
      const path = `${realmPath(realm, operation)}/users/${idSegment(userId, operation)}/reset-password`;
      const response = await call(operation, "PUT", path, {
        type: "password",
        value: password.value,
        temporary: password.temporary,
      });
      expect(response, operation, 204);
    },

    async executeActionsEmail(realm, userId, input) {
      const operation = "execute actions email";
      const query = new URLSearchParams();
      if (input.lifespanSeconds !== undefined) query.set("lifespan", String(input.lifespanSeconds));
      if (input.clientId !== undefined) query.set("client_id", input.clientId);
      if (input.redirectUri !== undefined) query.set("redirect_uri", input.redirectUri);
      const suffix = query.size > 0 ? `?${query}` : "";
      const path = `${realmPath(realm, operation)}/users/${idSegment(userId, operation)}/execute-actions-email${suffix}`;
      expect(await call(operation, "PUT", path, input.actions), operation, 204);
    },

    async logoutUser(realm, userId) {
      const operation = "logout user";
      const path = `${realmPath(realm, operation)}/users/${idSegment(userId, operation)}/logout`;
      expect(await call(operation, "POST", path), operation, 204);
    },
  };
}
