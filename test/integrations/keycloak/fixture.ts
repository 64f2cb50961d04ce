import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import {
  createKeycloakClient,
  type KeycloakClient,
} from "../../../src/integrations/keycloak/client";
import {
  type ClientSummary,
  createLocalIdentityProvider,
  createSigningKeyCache,
  type LocalIdentityProvider,
  type UserSummary,
} from "../../../src/integrations/keycloak/local-idp";

export const BASE_URL = "http://127.0.0.1:8081";
export const MASTER_ADMIN = { username: "admin", password: "master-admin-password" };
export const API_CLIENT = { clientId: "neoadmin-api", clientSecret: "api-client-secret-value" };
export const ALICE = {
  username: "alice",
  password: "alice-password-1",
  email: "alice@example.com",
  firstName: "Alice",
  lastName: "Liddell",
};

export interface Clock {
  now(): number;
  advance(seconds: number): void;
}

export interface Fixture {
  idp: LocalIdentityProvider;
  clock: Clock;
  /** The API's client, talking to the IdP through `app.request`. */
  keycloak: KeycloakClient;
  /** A fresh realm with the API client and Alice in it. */
  realm: string;
  client: ClientSummary;
  alice: UserSummary;
  /** Raw requests, for Keycloak-level assertions on status, headers and bodies. */
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  post(
    path: string,
    form: Record<string, string>,
    headers?: Record<string, string>,
  ): Promise<Response>;
  oidc(endpoint: string, realm?: string): string;
  /** A password grant of Alice through the API client (scope openid). */
  login(): Promise<TokenBody>;
  masterAdminToken(): Promise<string>;
  verify(token: string, realm?: string): ReturnType<typeof jwtVerify>;
}

export interface TokenBody {
  access_token: string;
  expires_in: number;
  refresh_expires_in: number;
  refresh_token?: string;
  token_type: string;
  id_token?: string;
  "not-before-policy": number;
  session_state?: string;
  scope: string;
}

/** RSA keys cost ~0.4 s each: the tests of a file reuse them across their IdP instances. */
export const keyCache = createSigningKeyCache();

export function randomRealm(): string {
  return `t-${crypto.randomUUID().slice(0, 8)}`;
}

export async function createFixture(): Promise<Fixture> {
  let now = Date.now();
  const clock: Clock = {
    now: () => now,
    advance: (seconds) => {
      now += seconds * 1000;
    },
  };
  const idp = await createLocalIdentityProvider({
    issuerBaseUrl: BASE_URL,
    now: clock.now,
    environment: "test",
    masterAdmin: MASTER_ADMIN,
    keyCache,
  });
  const realm = randomRealm();
  await idp.admin.createRealm({ realm });
  const client = idp.admin.createClient(realm, {
    clientId: API_CLIENT.clientId,
    secret: API_CLIENT.clientSecret,
    directAccessGrantsEnabled: true,
    serviceAccountsEnabled: true,
  });
  const alice = await idp.admin.createUser(realm, { ...ALICE, emailVerified: true });
  const keycloak = createKeycloakClient({
    baseUrl: BASE_URL,
    fetch: (input, init) => idp.app.request(input, init),
  });

  const get = async (path: string, headers: Record<string, string> = {}) =>
    idp.app.request(`${BASE_URL}${path}`, { headers });
  const post = async (
    path: string,
    form: Record<string, string>,
    headers: Record<string, string> = {},
  ) =>
    idp.app.request(`${BASE_URL}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(form).toString(),
    });
  const oidc = (endpoint: string, inRealm = realm) =>
    `/realms/${inRealm}/protocol/openid-connect/${endpoint}`;

  return {
    idp,
    clock,
    keycloak,
    realm,
    client,
    alice,
    get,
    post,
    oidc,
    async login() {
      const response = await post(oidc("token"), {
        grant_type: "password",
        client_id: API_CLIENT.clientId,
        client_secret: API_CLIENT.clientSecret,
        username: ALICE.username,
        password: ALICE.password,
        scope: "openid",
      });
      if (response.status !== 200) throw new Error(`login failed: ${response.status}`);
      return (await response.json()) as TokenBody;
    },
    async masterAdminToken() {
      const tokens = await keycloak.passwordGrant({
        realm: "master",
        clientId: "admin-cli",
        username: MASTER_ADMIN.username,
        password: MASTER_ADMIN.password,
      });
      return tokens.accessToken;
    },
    async verify(token, inRealm = realm) {
      const jwks = (await (await get(oidc("certs", inRealm))).json()) as JSONWebKeySet;
      return jwtVerify(token, createLocalJWKSet(jwks), {
        issuer: `${BASE_URL}/realms/${inRealm}`,
        algorithms: ["RS256"],
        currentDate: new Date(clock.now()),
      });
    },
  };
}

export async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}
