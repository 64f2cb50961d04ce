import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  jwtVerify,
} from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createKeycloakClient } from "../../../src/integrations/keycloak/client";
import { createLocalIdentityProvider } from "../../../src/integrations/keycloak/local-idp";
import { type NodeServer, serve } from "../../support/serve-node";
import { API_CLIENT, createFixture, type Fixture, keyCache } from "./fixture";

let f: Fixture;

beforeEach(async () => {
  f = await createFixture();
});

async function certs(realm = f.realm): Promise<JSONWebKeySet> {
  return (await (await f.get(f.oidc("certs", realm))).json()) as JSONWebKeySet;
}

async function introspect(token: string): Promise<Record<string, unknown>> {
  const response = await f.post(f.oidc("token/introspect"), {
    client_id: API_CLIENT.clientId,
    client_secret: API_CLIENT.clientSecret,
    token,
  });
  return (await response.json()) as Record<string, unknown>;
}

describe("JWKS", () => {
  it("publishes the public RSA signing key, nothing private", async () => {
    const response = await f.get(f.oidc("certs"));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const { keys } = (await response.json()) as JSONWebKeySet;
    expect(keys).toHaveLength(1);
    const [key] = keys;
    expect(key).toEqual({
      kid: f.idp.admin.activeKid(f.realm),
      kty: "RSA",
      alg: "RS256",
      use: "sig",
      n: expect.any(String),
      e: "AQAB",
    });
  });

  it("answers application/jwk-set+json when asked for it", async () => {
    const response = await f.get(f.oidc("certs"), { Accept: "application/jwk-set+json" });
    expect(response.headers.get("content-type")).toBe("application/jwk-set+json");
  });

  it("gives every realm its own key", async () => {
    const other = `o-${f.realm}`;
    await f.idp.admin.createRealm({ realm: other });
    const [mine] = (await certs()).keys;
    const [theirs] = (await certs(other)).keys;
    expect(mine?.kid).not.toBe(theirs?.kid);
    expect(mine?.n).not.toBe(theirs?.n);
  });
});

describe("key rotation", () => {
  it("lists old and new key until the old one is removed; new tokens use the new kid", async () => {
    const before = await f.login();
    const oldKid = f.idp.admin.activeKid(f.realm);
    const newKid = await f.idp.admin.rotateKeys(f.realm);
    expect(newKid).not.toBe(oldKid);

    const both = await certs();
    expect(both.keys.map((key) => key.kid)).toEqual([oldKid, newKid]);
    const after = await f.login();
    expect(decodeProtectedHeader(after.access_token).kid).toBe(newKid);
    expect(decodeProtectedHeader(after.id_token ?? "").kid).toBe(newKid);

    // Tokens signed before the rotation keep verifying, locally and at the IdP.
    const jwks = createLocalJWKSet(both);
    const options = { currentDate: new Date(f.clock.now()) };
    await expect(jwtVerify(before.access_token, jwks, options)).resolves.toBeTruthy();
    await expect(jwtVerify(after.access_token, jwks, options)).resolves.toBeTruthy();
    expect(await introspect(before.access_token)).toMatchObject({ active: true });

    expect(f.idp.admin.removeOldKeys(f.realm)).toEqual([oldKid]);
    const remaining = await certs();
    expect(remaining.keys.map((key) => key.kid)).toEqual([newKid]);
    await expect(
      jwtVerify(before.access_token, createLocalJWKSet(remaining), options),
    ).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(await introspect(before.access_token)).toEqual({ active: false });
    expect(await introspect(after.access_token)).toMatchObject({ active: true });
  });
});

describe("JWKS outage switch", () => {
  it("answers 503 while switched off and counts every request", async () => {
    expect(f.idp.admin.certsRequests(f.realm)).toBe(0);
    f.idp.admin.setCertsAvailable(f.realm, false);
    const down = await f.get(f.oidc("certs"));
    expect(down.status).toBe(503);
    expect(down.headers.get("retry-after")).toBe("30");
    expect(f.idp.admin.certsRequests(f.realm)).toBe(1);

    f.idp.admin.setCertsAvailable(f.realm, true);
    expect((await f.get(f.oidc("certs"))).status).toBe(200);
    expect(f.idp.admin.certsRequests(f.realm)).toBe(2);
    // Counted per realm; the token endpoint keeps working during the outage.
    expect(f.idp.admin.certsRequests("master")).toBe(0);
  });

  it("does not count requests for unknown realms", async () => {
    expect((await f.get(f.oidc("certs", "nosuchrealm"))).status).toBe(404);
    expect(f.idp.admin.certsRequests(f.realm)).toBe(0);
  });
});

describe("over real HTTP, as the API's JWKS resolver sees it", () => {
  let server: NodeServer | undefined;

  afterEach(async () => {
    await server?.close();
  });

  it("serves createRemoteJWKSet, and fails it during an outage", async () => {
    // The IdP must know the address it is served at: issuers and the JWKS URI carry it.
    server = await serve((request) => idp.app.fetch(request));
    const idp = await createLocalIdentityProvider({
      issuerBaseUrl: server.url,
      environment: "test",
      keyCache,
    });
    const realm = "remote";
    await idp.admin.createRealm({ realm });
    idp.admin.createClient(realm, {
      clientId: API_CLIENT.clientId,
      secret: API_CLIENT.clientSecret,
      serviceAccountsEnabled: true,
    });
    const keycloak = createKeycloakClient({ baseUrl: server.url });
    const { accessToken } = await keycloak.clientCredentials({ realm, ...API_CLIENT });
    const { issuer, jwksUri } = keycloak.endpoints(realm);

    const verified = await jwtVerify(accessToken, createRemoteJWKSet(new URL(jwksUri)), { issuer });
    expect(verified.payload.azp).toBe(API_CLIENT.clientId);
    expect(idp.admin.certsRequests(realm)).toBe(1);

    idp.admin.setCertsAvailable(realm, false);
    await expect(
      jwtVerify(accessToken, createRemoteJWKSet(new URL(jwksUri)), { issuer }),
    ).rejects.toThrow();
    expect(idp.admin.certsRequests(realm)).toBe(2);
  });
});
