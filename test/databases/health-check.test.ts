import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { passwordContext } from "../../src/core/db/regional-router";
import type { DatabaseConnection } from "../../src/features/databases/schemas";
import type { Region } from "../../src/features/regions/schemas";
import { createRegion } from "../regions/support";
import { firstField, rotatingClient } from "../support/api-client";
import { createTestApp, type TestApp } from "../support/harness";
import { scratchDatabase } from "../support/scratch-database";
import { createConnection, endpointOf, testPassword } from "./support";

interface Result {
  connection_id: string;
  checked: boolean;
  ok: boolean | null;
  response_time_ms: number | null;
  error: string | null;
  is_healthy: boolean;
  health_status: string | null;
  consecutive_failures: number;
  last_health_check: string | null;
}
interface Report {
  timeout_seconds: number;
  checked: number;
  healthy: number;
  unhealthy: number;
  results: Result[];
}

let t: TestApp;
let admin: ReturnType<typeof rotatingClient>;
let region: Region;
let scratch: Awaited<ReturnType<typeof scratchDatabase>>;
/** Accepts connections and never answers: what a firewalled or hung database looks like. */
let blackHole: Server;
const held: Socket[] = [];
let blackHolePort = 0;

beforeAll(async () => {
  t = await createTestApp();
  admin = rotatingClient(t);
  region = await createRegion(admin);
  scratch = await scratchDatabase();
  blackHole = createServer((socket) => {
    held.push(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => blackHole.listen(0, "127.0.0.1", resolve));
  blackHolePort = (blackHole.address() as { port: number }).port;
});

afterAll(async () => {
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => blackHole.close(resolve));
  await t.close();
  await scratch.drop();
});

function reachable(overrides: Record<string, unknown> = {}) {
  return createConnection(admin, region.id, {
    ...endpointOf(scratch.url),
    password: testPassword(),
    pool_min_size: 0,
    pool_max_size: 1,
    ...overrides,
  });
}

function unreachable(overrides: Record<string, unknown> = {}) {
  return createConnection(admin, region.id, {
    host: "127.0.0.1",
    port: blackHolePort,
    database_name: "nowhere",
    password: testPassword(),
    ...overrides,
  });
}

async function check(body: Record<string, unknown>) {
  return admin.post<Report>("/databases/health-check", body);
}

describe("health checks", () => {
  it("a reachable connection is healthy; a hung one fails within the timeout", async () => {
    const up = await reachable();
    const down = await unreachable();
    const started = performance.now();
    const reply = await check({ connection_ids: [up.id, down.id], timeout_seconds: 1 });
    const elapsed = performance.now() - started;
    expect(reply.status).toBe(200);
    // Concurrent, and the hung probe is cut at 1 s: well under two sequential timeouts.
    expect(elapsed).toBeLessThan(3000);
    expect(reply.body.data).toMatchObject({
      timeout_seconds: 1,
      checked: 2,
      healthy: 1,
      unhealthy: 1,
    });
    const [first, second] = reply.body.data.results.sort((a) =>
      a.connection_id === up.id ? -1 : 1,
    );
    expect(first).toMatchObject({
      connection_id: up.id,
      checked: true,
      ok: true,
      error: null,
      is_healthy: true,
      health_status: "healthy",
      consecutive_failures: 0,
    });
    expect(first?.last_health_check).not.toBeNull();
    expect(second).toMatchObject({
      connection_id: down.id,
      ok: false,
      is_healthy: false,
      health_status: "unhealthy",
      consecutive_failures: 1,
    });
    expect(second?.error).toMatch(/1 s|timeout|CONNECT_TIMEOUT/i);

    // Recorded on the rows (and the cached copies were dropped).
    const after = await admin.get<DatabaseConnection>(`/databases/${up.id}`);
    expect(after.body.data).toMatchObject({ is_healthy: true, version: 2 });
    const [entry] = await t.deps.db<{ after: { results: { connection_id: string }[] } }[]>`
      select after from admin.audit_log
      where action = 'databases.health_check' and request_id = ${reply.body.metadata.request_id}`;
    expect(entry?.after.results.map((r) => r.connection_id).sort()).toEqual(
      [up.id, down.id].sort(),
    );
  });

  it("caps the timeout at 10 s, and reports recent checks without probing again unless forced", async () => {
    const up = await reachable();
    const first = await check({ connection_ids: [up.id], timeout_seconds: 60 });
    expect(first.body.data.timeout_seconds).toBe(10);
    const again = await check({ connection_ids: [up.id] });
    expect(again.body.data.results[0]).toMatchObject({
      checked: false,
      ok: null,
      is_healthy: true,
    });
    const forced = await check({ connection_ids: [up.id], force_check: true });
    expect(forced.body.data.results[0]).toMatchObject({ checked: true, ok: true });
  });

  it("a healthy connection degrades, then turns unhealthy after max_consecutive_failures", async () => {
    const flaky = await unreachable({ max_consecutive_failures: 2 });
    await t.deps.db`update admin.database_connections set is_healthy = true where id = ${flaky.id}`;
    const body = { connection_ids: [flaky.id], timeout_seconds: 1, force_check: true };
    const once = await check(body);
    expect(once.body.data.results[0]).toMatchObject({
      is_healthy: true,
      health_status: "degraded",
      consecutive_failures: 1,
    });
    const twice = await check(body);
    expect(twice.body.data.results[0]).toMatchObject({
      is_healthy: false,
      health_status: "unhealthy",
      consecutive_failures: 2,
    });
  });

  it("a refused port fails fast, and a password sealed for another row does not open", async () => {
    const closed = await unreachable({ port: 9 });
    const moved = await reachable();
    const other = await reachable();
    // A ciphertext copied from another row: bound to that row, it must not open here.
    await t.deps.db`
      update admin.database_connections
      set encrypted_password = (select encrypted_password from admin.database_connections where id = ${other.id})
      where id = ${moved.id}`;
    const reply = await check({ connection_ids: [closed.id, moved.id], timeout_seconds: 5 });
    const byId = new Map(reply.body.data.results.map((r) => [r.connection_id, r]));
    expect(byId.get(closed.id)).toMatchObject({ ok: false });
    expect(byId.get(closed.id)?.response_time_ms ?? 9999).toBeLessThan(4000);
    expect(byId.get(moved.id)).toMatchObject({ ok: false });
    expect(byId.get(moved.id)?.error).toContain("does not open");
    const sealed = (
      await t.deps.db<{ encrypted_password: string }[]>`
        select encrypted_password from admin.database_connections where id = ${other.id}`
    )[0]?.encrypted_password;
    await expect(
      t.deps.secretBox?.open(sealed ?? "", passwordContext(moved.id)) ?? Promise.reject(),
    ).rejects.toThrow();
  });

  it("without connection_ids checks every active connection", async () => {
    // Tests only ever send traffic to this machine: rows that other files registered with
    // made-up public hosts (never connected to there) are taken out of "every active" first.
    await t.deps.db`
      update admin.database_connections set is_active = false
      where host not in ('127.0.0.1', 'localhost', '::1')`;
    const up = await reachable();
    const off = await reachable();
    await admin.put(`/databases/${off.id}`, { is_active: false }, { "If-Match": "*" });
    const reply = await check({ timeout_seconds: 1 });
    const ids = reply.body.data.results.map((r) => r.connection_id);
    expect(ids).toContain(up.id);
    expect(ids).not.toContain(off.id);
  });

  it.each([
    [{ connection_ids: ["0193a1f2-7c1e-7b3a-9a5e-2f1c4d5e6f70"] }, "connection_ids"],
    [{ connection_ids: ["nope"] }, "connection_ids.0"],
    [{ connection_ids: [] }, "connection_ids"],
    [{ timeout_seconds: 0 }, "timeout_seconds"],
    [{ timeout_seconds: 61 }, "timeout_seconds"],
    [{ force_check: "yes" }, "force_check"],
    [{ verbose: true }, "verbose"],
  ])("refuses %j with 400 naming %s", async (body, field) => {
    const reply = await check(body);
    expect(reply.status).toBe(400);
    expect(firstField(reply)).toBe(field);
  });
});
