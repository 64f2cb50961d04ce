import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ForbiddenHostError, guardedSocket } from "../../src/core/db/guarded-socket";
import { refusedAddress, refusedHost } from "../../src/core/db/host-policy";
import type { DatabaseConnection } from "../../src/features/databases/schemas";
import type { Region } from "../../src/features/regions/schemas";
import { createRegion } from "../regions/support";
import { firstField, rotatingClient } from "../support/api-client";
import { createTestApp, type TestApp } from "../support/harness";
import { connectionInput, createConnection } from "./support";

const REFUSED = [
  "127.0.0.1",
  "127.9.9.9",
  "localhost",
  "LOCALHOST.",
  "db.localhost",
  "169.254.169.254",
  "169.254.1.1",
  "fd00:ec2::254",
  "[fd00:ec2::254]",
  "metadata.google.internal",
  "metadata.google.internal.",
  "10.1.2.3",
  "172.16.0.1",
  "172.31.255.255",
  "192.168.1.1",
  "100.64.0.1",
  "fc00::1",
  "fe80::1",
  "fe80::1%eth0",
  "0.0.0.0",
  "::",
  "::1",
  "0:0:0:0:0:0:0:1",
  "::ffff:127.0.0.1",
  "::ffff:7f00:1",
  "::ffff:169.254.169.254",
  "64:ff9b::a9fe:a9fe",
  "2002:7f00:1::",
  // Every notation getaddrinfo accepts for 127.0.0.1.
  "2130706433",
  "0x7f000001",
  "0177.0.0.1",
  "127.1",
  "0x7f.1",
  "224.0.0.1",
  "255.255.255.255",
];

const ALLOWED = [
  "db.example.com",
  "8.8.8.8",
  "172.32.0.1",
  "172.15.255.255",
  "192.169.0.1",
  "100.128.0.1",
  "11.0.0.1",
  "2001:db8::1",
  "::ffff:8.8.8.8",
  "localhost.example.com",
  "10.example.com",
];

describe("host policy (pure)", () => {
  it.each(REFUSED)("refuses %s", (host) => {
    expect(refusedHost(host)).toBeTruthy();
  });

  it.each(ALLOWED)("allows %s", (host) => {
    expect(refusedHost(host)).toBeUndefined();
  });

  it("checks resolved addresses, and anything that is not an address is refused", () => {
    expect(refusedAddress("10.0.0.5")).toBeTruthy();
    expect(refusedAddress("::1")).toBeTruthy();
    expect(refusedAddress("93.184.216.34")).toBeUndefined();
    expect(refusedAddress("example.com")).toBeTruthy();
  });
});

describe("connect-time check (guarded socket)", () => {
  it("refuses a name whenever any address it resolves to is private", async () => {
    for (const addresses of [["10.0.0.5"], ["93.184.216.34", "169.254.169.254"], ["::1"]]) {
      const socket = guardedSocket({
        host: "db.example.com",
        port: 5432,
        timeoutMs: 1000,
        lookup: async () => addresses.map((address) => ({ address, family: 4 })),
      });
      await expect(socket()).rejects.toBeInstanceOf(ForbiddenHostError);
    }
  });

  it("refuses a name that does not resolve", async () => {
    const socket = guardedSocket({
      host: "db.example.com",
      port: 5432,
      timeoutMs: 1000,
      lookup: async () => [],
    });
    await expect(socket()).rejects.toThrow("does not resolve");
  });
});

describe("host policy through the API (ALLOW_PRIVATE_DATABASE_HOSTS=false)", () => {
  let t: TestApp;
  let admin: ReturnType<typeof rotatingClient>;
  let region: Region;

  beforeAll(async () => {
    t = await createTestApp({ ALLOW_PRIVATE_DATABASE_HOSTS: "false" });
    admin = rotatingClient(t);
    region = await createRegion(admin);
  });
  afterAll(async () => {
    // Nothing is ever connected to these; keep them out of later "check every connection" runs.
    await t.deps.db`
      update admin.database_connections set is_active = false, deleted_at = now()
      where region_id = ${region.id}`;
    await t.close();
  });

  it.each(REFUSED)("POST with host %s is 400 naming host, and nothing is stored", async (host) => {
    const input = connectionInput(region.id, { host });
    const reply = await admin.post("/databases", input);
    expect(reply.status).toBe(400);
    expect(firstField(reply)).toBe("host");
    const rows = await t.deps.db`
      select 1 from admin.database_connections where connection_name = ${input.connection_name}`;
    expect(rows).toHaveLength(0);
  });

  it.each(["db.example.com", "8.8.8.8", "2001:db8::1", "[2001:db8::2]", "DB.Example.COM."])(
    "POST with host %s is accepted (stored normalised)",
    async (host) => {
      const reply = await admin.post<DatabaseConnection>(
        "/databases",
        connectionInput(region.id, { host }),
      );
      expect(reply.status).toBe(201);
      expect(reply.body.data.host).toBe(host.toLowerCase().replace(/^\[|\]$|\.$/g, ""));
    },
  );

  it("PUT to a refused host is 400 and changes nothing", async () => {
    const connection = await createConnection(admin, region.id);
    for (const host of ["169.254.169.254", "localhost", "10.0.0.1"]) {
      const reply = await admin.put(`/databases/${connection.id}`, { host }, { "If-Match": "*" });
      expect(reply.status).toBe(400);
      expect(firstField(reply)).toBe("host");
    }
    const now = await admin.get<DatabaseConnection>(`/databases/${connection.id}`);
    expect(now.body.data).toMatchObject({ host: "db.example.com", version: 1 });
  });
});
