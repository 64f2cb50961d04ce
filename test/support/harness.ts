import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { inject } from "vitest";
import { createApp } from "../../src/app";
import { loadConfig } from "../../src/config";
import { generateEncryptionKey } from "../../src/core/crypto/secret-box";
import { createSql } from "../../src/core/db/admin";
import { socketPolicy } from "../../src/core/db/guarded-socket";
import { createRegionalRouter, pooledClients } from "../../src/core/db/regional-router";
import type { Deps } from "../../src/core/deps";
import { createLogger } from "../../src/core/log/logger";
import { createSharedDeps } from "../../src/core/shared-deps";
import {
  createLocalIdentity,
  LOCAL_SUPERADMIN,
  type LocalIdentity,
} from "../../src/dev/local-identity";
import { nodeModulesDocsAssets } from "../../src/features/docs/assets.node";
import { createKeycloakClient } from "../../src/integrations/keycloak/client";
import { createSigningKeyCache } from "../../src/integrations/keycloak/local-idp";

/** One set of RSA keys for every local identity provider of the run: key generation is slow. */
const keyCache = createSigningKeyCache();
export const IDP_URL = "http://idp.test";

export interface TestUser {
  id: string;
  username: string;
  password: string;
  externalId: string;
  /** A fresh access token from the identity provider (no API call). */
  token(): Promise<string>;
}

/** Secrets the run-end check looks for in every captured log line. */
export function registerSecrets(secrets: string[]): void {
  appendFileSync(join(inject("logDir"), `${process.pid}.secrets`), `${secrets.join("\n")}\n`);
}

export interface TestApp {
  /** Moves the identity provider's clock (to mint expired or not-yet-valid tokens). */
  idpClock: { offsetMs: number };
  /** The local identity provider the app trusts (reached without a socket). */
  identity: LocalIdentity;
  /** A platform user with these roles and direct grants, signed up in the identity provider. */
  createUser(options?: {
    roles?: string[];
    permissions?: string[];
    superadmin?: boolean;
    active?: boolean;
  }): Promise<TestUser>;
  app: ReturnType<typeof createApp>;
  deps: Deps;
  /** Every log line the app wrote, parsed. */
  logs: Record<string, unknown>[];
  /** The raw log text, for "no secret ever appears" assertions. */
  logText(): string;
  /** A request from a given client address (the socket address in tests). */
  request(path: string, init?: RequestInit & { ip?: string }): Promise<Response>;
  close(): Promise<void>;
}

/** A random private address, so tests never share per-IP limits with each other. */
export function randomIp(): string {
  const n = () => Math.floor(Math.random() * 254) + 1;
  return `10.${n()}.${n()}.${n()}`;
}

/**
 * The real app, against the run's database and (with TEST_REDIS_URL) the real Redis through the
 * Upstash REST proxy. `env` overrides configuration the way operators set it; `fastLane: false`
 * sends every request through Hono (test/http/fast-lane.test.ts compares both paths).
 */
export async function createTestApp(
  env: Record<string, string> = {},
  options: { fastLane?: boolean } = {},
): Promise<TestApp> {
  const upstash = inject("upstash");
  // Each test app has its own key, as operators set it; never printed by anything.
  const key = generateEncryptionKey("test");
  registerSecrets([key.key]);
  const config = loadConfig({
    APP_ENCRYPTION_KEY: `${key.id}:${key.key}`,
    ENVIRONMENT: "test",
    LOG_LEVEL: "debug",
    // Generous: a loaded CI machine must not turn a slow Redis answer into a flaky test. The
    // outage tests set their own, small budget.
    CACHE_TIMEOUT_MS: "2000",
    ADMIN_DATABASE_URL: inject("databaseUrl"),
    ...(upstash
      ? { UPSTASH_REDIS_REST_URL: upstash.url, UPSTASH_REDIS_REST_TOKEN: upstash.token }
      : {}),
    ...env,
  });
  const lines: string[] = [];
  const logFile = join(inject("logDir"), `${process.pid}.log`);
  const logger = createLogger({
    level: config.logLevel,
    sink: (line) => {
      lines.push(line);
      appendFileSync(logFile, `${line}\n`);
    },
  });
  const db = createSql(inject("databaseUrl"), { max: 1 });
  const idpClock = { offsetMs: 0 };
  const identity = await createLocalIdentity(config, {
    baseUrl: IDP_URL,
    keyCache,
    now: () => Date.now() + idpClock.offsetMs,
  });
  registerSecrets([identity.clientSecret, LOCAL_SUPERADMIN.password]);
  const idpFetch = async (input: string, init: RequestInit) =>
    identity.idp.app.request(input, init);
  const shared = createSharedDeps(config, logger, {
    identity: { url: identity.url, clientSecret: identity.clientSecret, fetch: idpFetch },
  });
  const regional = createRegionalRouter({
    admin: db,
    source: pooledClients({
      ...(shared.secretBox ? { secretBox: shared.secretBox } : {}),
      socketFor: socketPolicy(config.allowPrivateDatabaseHosts),
      drainSeconds: 1,
    }),
  });
  const deps: Deps = { ...shared, db, regional, waitUntil: () => {} };
  const keycloak = createKeycloakClient({ baseUrl: identity.url, fetch: idpFetch });
  const realm = config.keycloak.adminRealm;
  const defaultIp = randomIp();
  const app = createApp({
    config,
    deps,
    socketAddress: (c) => c.req.header("x-test-peer") ?? defaultIp,
    docsAssets: nodeModulesDocsAssets(),
    fastLane: options.fastLane,
  });
  return {
    app,
    deps,
    identity,
    idpClock,
    async createUser(options = {}) {
      const suffix = Math.random().toString(36).slice(2, 10);
      const username = `user-${suffix}`;
      const password = `Pw-${suffix}-Aa1`;
      registerSecrets([password]);
      const created = await identity.idp.admin.createUser(realm, {
        username,
        email: `${username}@example.com`,
        firstName: "Test",
        lastName: suffix,
        emailVerified: true,
        password,
      });
      const [row] = await db<{ id: string }[]>`
        insert into admin.platform_users (email, username, external_id, external_user_id, is_superadmin, is_active)
        values (${`${username}@example.com`}, ${username}, ${created.id}, ${created.id},
                ${options.superadmin ?? false}, ${options.active ?? true})
        returning id`;
      if (!row) throw new Error("user not created");
      for (const role of options.roles ?? []) {
        await db`insert into admin.platform_user_roles (user_id, role_id)
                 select ${row.id}, id from admin.platform_roles where code = ${role}`;
      }
      for (const code of options.permissions ?? []) {
        await db`insert into admin.platform_permissions (code, resource, action)
                 values (${code}, ${code.slice(0, code.lastIndexOf(":"))}, ${code.slice(code.lastIndexOf(":") + 1)})
                 on conflict (code) do nothing`;
        await db`insert into admin.platform_user_permissions (user_id, permission_id)
                 select ${row.id}, id from admin.platform_permissions where code = ${code}`;
      }
      return {
        id: row.id,
        username,
        password,
        externalId: created.id,
        async token() {
          const set = await keycloak.passwordGrant({
            realm,
            clientId: config.keycloak.clientId,
            clientSecret: identity.clientSecret,
            username,
            password,
          });
          return set.accessToken;
        },
      };
    },
    get logs() {
      return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    logText: () => lines.join("\n"),
    async request(path, init = {}) {
      const { ip, ...rest } = init;
      const headers = new Headers(rest.headers);
      headers.set("x-test-peer", ip ?? defaultIp);
      return app.request(path, { ...rest, headers });
    },
    async close() {
      await regional.close();
      await db.end({ timeout: 1 });
    },
  };
}
