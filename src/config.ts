import { z } from "zod";

/**
 * Every setting the API reads, in one schema. Parsed once at start (Bun) or once per isolate
 * (Workers) and injected; nothing else reads process.env, Bun.env or c.env.
 */
const boolean = z
  .enum(["true", "false", "1", "0", "yes", "no", "on", "off"], {
    error: "expected true or false",
  })
  .transform((value) => ["true", "1", "yes", "on"].includes(value));

const int = (min: number, max: number) =>
  z.coerce
    .number({ error: "expected an integer" })
    .int({ error: "expected an integer" })
    .min(min, { error: `expected an integer >= ${min}` })
    .max(max, { error: `expected an integer <= ${max}` });

const url = (protocols: string[]) =>
  z
    .url({ error: `expected a URL (${protocols.join(", ")})` })
    .refine((value) => protocols.some((p) => value.startsWith(`${p}:`)), {
      error: `expected a URL (${protocols.join(", ")})`,
    });

/** A Keycloak realm name as it may appear in a URL path: no separators, no dot segments. */
const realmName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, { error: "expected a realm name (letters, digits, . _ -)" })
  .refine((v) => v !== "." && v !== "..", { error: "expected a realm name, not a dot segment" });

export const environments = ["development", "test", "staging", "production"] as const;
export const logLevels = ["debug", "info", "warn", "error"] as const;

/**
 * `APP_ENCRYPTION_KEY`: one or more `<key id>:<base64 key>` entries separated by commas; the first
 * encrypts, all decrypt (so a key can be rotated without re-encrypting first). Keys are 32 bytes
 * (AES-256-GCM); ids are short names stored beside each ciphertext.
 */
const encryptionKeyRing = z.string().transform((value, ctx) => {
  const entries = value
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);
  const keys: { id: string; key: string }[] = [];
  for (const entry of entries) {
    const at = entry.indexOf(":");
    const id = entry.slice(0, at);
    const key = entry.slice(at + 1);
    let bytes = 0;
    try {
      bytes = at > 0 ? atob(key).length : 0;
    } catch {}
    if (!/^[A-Za-z0-9_-]{1,16}$/.test(id) || bytes !== 32 || keys.some((k) => k.id === id)) {
      ctx.addIssue({
        code: "custom",
        message:
          "expected comma-separated <key id>:<base64 of 32 random bytes> entries with distinct ids of 1-16 letters, digits, - or _",
      });
      return z.NEVER;
    }
    keys.push({ id, key });
  }
  if (keys.length === 0) {
    ctx.addIssue({ code: "custom", message: "expected at least one <key id>:<base64 key>" });
    return z.NEVER;
  }
  return keys;
});

const schema = z
  .object({
    PORT: int(1, 65535).default(8001),
    HOST: z.string().min(1).default("0.0.0.0"),
    ENVIRONMENT: z
      .enum(environments, { error: `expected one of ${environments.join(", ")}` })
      .default("development"),
    ADMIN_DATABASE_URL: url(["postgres", "postgresql"]).optional(),
    ADMIN_DATABASE_POOL_MAX: int(1, 200).default(10),
    DATA_DIR: z.string().min(1).default("./.data"),
    UPSTASH_REDIS_REST_URL: url(["http", "https"]).optional(),
    UPSTASH_REDIS_REST_TOKEN: z.string().min(1).optional(),
    CACHE_TIMEOUT_MS: int(10, 10_000).default(250),
    CORS_ORIGINS: z
      .string()
      .default("")
      .transform((value) =>
        value
          .split(",")
          .map((origin) => origin.trim())
          .filter(Boolean),
      )
      .pipe(
        z.array(
          z.union([
            z.literal("*"),
            z.url({ error: "expected * or a comma-separated origin list" }),
          ]),
        ),
      ),
    DOCS_ENABLED: boolean.optional(),
    LOG_LEVEL: z
      .enum(logLevels, { error: `expected one of ${logLevels.join(", ")}` })
      .default("info"),
    MAX_BODY_BYTES: int(1024, 100 * 1024 * 1024).default(1024 * 1024),
    TRUSTED_PROXY_COUNT: int(0, 10).default(0),
    GUEST_SESSION_REQUEST_LIMIT: int(1, 10_000_000).default(1000),
    GUEST_SESSION_TTL_SECONDS: int(60, 30 * 86_400).default(3600),
    GUEST_IP_DAILY_SESSION_LIMIT: int(1, 10_000_000).default(5000),
    KEYCLOAK_URL: url(["http", "https"]).optional(),
    KEYCLOAK_ADMIN_REALM: realmName.default("neo-admin"),
    KEYCLOAK_CLIENT_ID: z.string().min(1).max(255).default("admin-api"),
    KEYCLOAK_CLIENT_SECRET: z.string().min(1).optional(),
    JWT_AUDIENCE: z.string().min(1).max(255).default("admin-api"),
    JWT_CLOCK_SKEW_SECONDS: int(0, 300).default(30),
    LOCAL_IDP_PORT: int(0, 65535).default(8081),
    APP_ENCRYPTION_KEY: encryptionKeyRing.optional(),
    ALLOW_PRIVATE_DATABASE_HOSTS: boolean.optional(),
  })
  .superRefine((value, ctx) => {
    if (value.ENVIRONMENT === "production" && !value.KEYCLOAK_URL) {
      ctx.addIssue({
        code: "custom",
        path: ["KEYCLOAK_URL"],
        message: "expected a Keycloak URL: production never runs the local identity provider",
      });
    }
    if (value.ENVIRONMENT === "production" && !value.APP_ENCRYPTION_KEY) {
      ctx.addIssue({
        code: "custom",
        path: ["APP_ENCRYPTION_KEY"],
        message:
          "expected an encryption key ring (<key id>:<base64 of 32 bytes>): production never generates one",
      });
    }
    if (value.KEYCLOAK_URL && !value.KEYCLOAK_CLIENT_SECRET) {
      ctx.addIssue({
        code: "custom",
        path: ["KEYCLOAK_CLIENT_SECRET"],
        message: "expected the secret of KEYCLOAK_CLIENT_ID when KEYCLOAK_URL is set",
      });
    }
    if (Boolean(value.UPSTASH_REDIS_REST_URL) !== Boolean(value.UPSTASH_REDIS_REST_TOKEN)) {
      ctx.addIssue({
        code: "custom",
        path: [
          value.UPSTASH_REDIS_REST_URL ? "UPSTASH_REDIS_REST_TOKEN" : "UPSTASH_REDIS_REST_URL",
        ],
        message: "expected UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN to be set together",
      });
    }
  })
  .transform((env) => ({
    port: env.PORT,
    host: env.HOST,
    environment: env.ENVIRONMENT,
    adminDatabaseUrl: env.ADMIN_DATABASE_URL,
    adminDatabasePoolMax: env.ADMIN_DATABASE_POOL_MAX,
    dataDir: env.DATA_DIR,
    upstash:
      env.UPSTASH_REDIS_REST_URL && env.UPSTASH_REDIS_REST_TOKEN
        ? { url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN }
        : undefined,
    cacheTimeoutMs: env.CACHE_TIMEOUT_MS,
    corsOrigins: env.CORS_ORIGINS,
    docsEnabled: env.DOCS_ENABLED ?? env.ENVIRONMENT !== "production",
    logLevel: env.LOG_LEVEL,
    maxBodyBytes: env.MAX_BODY_BYTES,
    trustedProxyCount: env.TRUSTED_PROXY_COUNT,
    keycloak: {
      /** Unset: the local identity provider (development and test only). */
      url: env.KEYCLOAK_URL?.replace(/\/+$/, ""),
      adminRealm: env.KEYCLOAK_ADMIN_REALM,
      clientId: env.KEYCLOAK_CLIENT_ID,
      clientSecret: env.KEYCLOAK_CLIENT_SECRET,
      audience: env.JWT_AUDIENCE,
      clockSkewSeconds: env.JWT_CLOCK_SKEW_SECONDS,
      localPort: env.LOCAL_IDP_PORT,
    },
    /** Unset: generated and kept under DATA_DIR (development and test only). */
    encryptionKeys: env.APP_ENCRYPTION_KEY,
    /**
     * Database connections may point at loopback or private addresses: on by default in
     * development and test (the embedded regions are local), off elsewhere.
     */
    allowPrivateDatabaseHosts:
      env.ALLOW_PRIVATE_DATABASE_HOSTS ??
      (env.ENVIRONMENT === "development" || env.ENVIRONMENT === "test"),
    guest: {
      requestLimit: env.GUEST_SESSION_REQUEST_LIMIT,
      ttlSeconds: env.GUEST_SESSION_TTL_SECONDS,
      ipDailySessionLimit: env.GUEST_IP_DAILY_SESSION_LIMIT,
    },
  }));

export type Config = z.output<typeof schema>;
export type Environment = Config["environment"];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Empty strings count as unset, so `FOO=` in a .env file falls back to the default. */
function withoutEmpty(env: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== "" && v !== undefined));
}

/** Parses the environment; throws ConfigError naming each bad variable and what it expected. */
export function loadConfig(env: Record<string, unknown>): Config {
  const result = schema.safeParse(withoutEmpty(env));
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => {
      const name = issue.path.join(".") || "environment";
      const given = issue.path.length === 1 ? env[String(issue.path[0])] : undefined;
      const shown =
        given === undefined || /TOKEN|SECRET|PASSWORD|KEY|URL/.test(name)
          ? ""
          : ` (got ${JSON.stringify(given)})`;
      return `${name}: ${issue.message}${shown}`;
    }),
  );
}
