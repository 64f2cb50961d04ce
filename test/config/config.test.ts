import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config";

describe("configuration", () => {
  it("has the documented defaults", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8001,
      environment: "development",
      adminDatabaseUrl: undefined,
      dataDir: "./.data",
      upstash: undefined,
      docsEnabled: true,
      logLevel: "info",
      trustedProxyCount: 0,
      guest: { requestLimit: 1000, ttlSeconds: 3600, ipDailySessionLimit: 5000 },
    });
  });

  const production = {
    ENVIRONMENT: "production",
    KEYCLOAK_URL: "https://id.example.com/",
    KEYCLOAK_CLIENT_SECRET: "s3cret",
    APP_ENCRYPTION_KEY: `k1:${btoa("k".repeat(32))}`,
  };

  it("turns docs off by default in production only", () => {
    expect(loadConfig(production).docsEnabled).toBe(false);
    expect(loadConfig({ ...production, DOCS_ENABLED: "true" }).docsEnabled).toBe(true);
    expect(loadConfig({ ENVIRONMENT: "staging" }).docsEnabled).toBe(true);
    expect(loadConfig({ DOCS_ENABLED: "false" }).docsEnabled).toBe(false);
  });

  it("parses lists, numbers and the Upstash pair", () => {
    const config = loadConfig({
      PORT: "9000",
      CORS_ORIGINS: "https://a.example, https://b.example",
      UPSTASH_REDIS_REST_URL: "https://eu1.upstash.example",
      UPSTASH_REDIS_REST_TOKEN: "t0ken",
      GUEST_SESSION_REQUEST_LIMIT: "10",
    });
    expect(config.port).toBe(9000);
    expect(config.corsOrigins).toEqual(["https://a.example", "https://b.example"]);
    expect(config.upstash).toEqual({ url: "https://eu1.upstash.example", token: "t0ken" });
    expect(config.guest.requestLimit).toBe(10);
  });

  it("reads the Keycloak settings, with the documented defaults", () => {
    expect(loadConfig({}).keycloak).toEqual({
      url: undefined,
      adminRealm: "neo-admin",
      clientId: "admin-api",
      clientSecret: undefined,
      audience: "admin-api",
      clockSkewSeconds: 30,
      localPort: 8081,
    });
    expect(loadConfig(production).keycloak).toMatchObject({
      url: "https://id.example.com",
      clientSecret: "s3cret",
    });
  });

  it("reads the encryption key ring (first key seals) and the private-host switch", () => {
    const ring = `k2:${btoa("2".repeat(32))}, k1:${btoa("1".repeat(32))}`;
    expect(loadConfig({ APP_ENCRYPTION_KEY: ring }).encryptionKeys).toEqual([
      { id: "k2", key: btoa("2".repeat(32)) },
      { id: "k1", key: btoa("1".repeat(32)) },
    ]);
    expect(loadConfig({}).encryptionKeys).toBeUndefined();
    expect(loadConfig({}).allowPrivateDatabaseHosts).toBe(true);
    expect(loadConfig(production).allowPrivateDatabaseHosts).toBe(false);
    expect(loadConfig({ ENVIRONMENT: "staging" }).allowPrivateDatabaseHosts).toBe(false);
    expect(
      loadConfig({ ...production, ALLOW_PRIVATE_DATABASE_HOSTS: "true" }).allowPrivateDatabaseHosts,
    ).toBe(true);
  });

  it("never echoes an encryption key in its messages", () => {
    const key = btoa("z".repeat(31));
    expect(() => loadConfig({ APP_ENCRYPTION_KEY: `k1:${key}` })).toThrow(ConfigError);
    try {
      loadConfig({ APP_ENCRYPTION_KEY: `k1:${key}` });
    } catch (error) {
      expect((error as Error).message).not.toContain(key);
    }
  });

  it("treats empty values as unset", () => {
    expect(loadConfig({ PORT: "", ADMIN_DATABASE_URL: "" }).port).toBe(8001);
  });

  describe.each([
    [{ PORT: "eighty" }, "PORT: expected an integer"],
    [{ PORT: "70000" }, "PORT: expected an integer <= 65535"],
    [
      { ENVIRONMENT: "prod" },
      "ENVIRONMENT: expected one of development, test, staging, production",
    ],
    [
      { ADMIN_DATABASE_URL: "mysql://x" },
      "ADMIN_DATABASE_URL: expected a URL (postgres, postgresql)",
    ],
    [{ DOCS_ENABLED: "maybe" }, "DOCS_ENABLED: expected true or false"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL: expected one of debug, info, warn, error"],
    [
      { UPSTASH_REDIS_REST_URL: "https://x.example" },
      "UPSTASH_REDIS_REST_TOKEN: expected UPSTASH_REDIS_REST_URL",
    ],
    [{ GUEST_SESSION_TTL_SECONDS: "5" }, "GUEST_SESSION_TTL_SECONDS: expected an integer >= 60"],
    [{ CORS_ORIGINS: "not a url" }, "CORS_ORIGINS"],
    [{ ENVIRONMENT: "production" }, "KEYCLOAK_URL: expected a Keycloak URL"],
    [{ KEYCLOAK_URL: "https://id.example.com" }, "KEYCLOAK_CLIENT_SECRET: expected the secret"],
    [{ KEYCLOAK_ADMIN_REALM: "../master" }, "KEYCLOAK_ADMIN_REALM: expected a realm name"],
    [
      { KEYCLOAK_ADMIN_REALM: ".." },
      "KEYCLOAK_ADMIN_REALM: expected a realm name, not a dot segment",
    ],
    [{ JWT_CLOCK_SKEW_SECONDS: "-1" }, "JWT_CLOCK_SKEW_SECONDS: expected an integer >= 0"],
    [
      { ENVIRONMENT: "production", KEYCLOAK_URL: "https://id.x", KEYCLOAK_CLIENT_SECRET: "s" },
      "APP_ENCRYPTION_KEY: expected an encryption key ring",
    ],
    [{ APP_ENCRYPTION_KEY: "k1:c2hvcnQ=" }, "APP_ENCRYPTION_KEY: expected comma-separated"],
    [{ APP_ENCRYPTION_KEY: `bad id!:${btoa("k".repeat(32))}` }, "APP_ENCRYPTION_KEY: expected"],
    [
      { APP_ENCRYPTION_KEY: `a:${btoa("k".repeat(32))},a:${btoa("j".repeat(32))}` },
      "APP_ENCRYPTION_KEY: expected comma-separated",
    ],
    [{ ALLOW_PRIVATE_DATABASE_HOSTS: "perhaps" }, "ALLOW_PRIVATE_DATABASE_HOSTS: expected true"],
  ])("rejects %j", (env, expected) => {
    it("with a message naming the variable and what it expected", () => {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(expected);
    });
  });

  it("never echoes secret values in its messages", () => {
    try {
      loadConfig({ ADMIN_DATABASE_URL: "postgres//user:hunter2@host/db" });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toContain("ADMIN_DATABASE_URL");
      expect((error as Error).message).not.toContain("hunter2");
    }
  });
});
