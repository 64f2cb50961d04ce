import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { regionInput } from "../regions/support";
import { type ApiClient, apiClient } from "../support/api-client";
import { createTestApp, type TestApp } from "../support/harness";

/**
 * Idempotency-Key states that a plain retry cannot reach: a first attempt still running (or
 * dead mid-way) and an expired key. The replay and reuse cases are in test/regions.
 */
let t: TestApp;
let client: ApiClient;

beforeAll(async () => {
  t = await createTestApp();
  client = await apiClient(t, await t.createUser({ roles: ["platform_admin"] }));
});
afterAll(() => t.close());

/** A stored key record in a given state, as a first request would have left it. */
async function plant(
  key: string,
  state: {
    status: "in_progress" | "completed";
    ageSeconds: number;
    hash?: string;
    expired?: boolean;
  },
) {
  const completed = state.status === "completed";
  await t.deps.db`
    insert into admin.idempotency_keys (principal_id, key, method, path, request_hash, status,
                                        response_status, response_body, completed_at,
                                        created_at, expires_at)
    values (${client.user.id}, ${key}, 'POST', '/api/v1/regions', ${state.hash ?? "0".repeat(64)},
            ${state.status}, ${completed ? 201 : null}, ${completed ? t.deps.db.json({}) : null},
            ${completed ? t.deps.db`now()` : null},
            now() - make_interval(secs => ${state.ageSeconds}),
            ${state.expired ? t.deps.db`now() - interval '1 second'` : t.deps.db`now() + interval '1 day'`})`;
}

async function requestHashOf(key: string): Promise<string> {
  const [row] = await t.deps.db<{ request_hash: string }[]>`
    select request_hash from admin.idempotency_keys
    where principal_id = ${client.user.id} and key = ${key}`;
  return row?.request_hash ?? "";
}

describe("Idempotency-Key", () => {
  it("answers 409 with Retry-After while the first request with the key is still running", async () => {
    const input = regionInput();
    // Learn the hash of this exact request, then make its record look in progress.
    const probeKey = `probe-${input.code}`;
    expect((await client.post("/regions", input, { "Idempotency-Key": probeKey })).status).toBe(
      201,
    );
    const hash = await requestHashOf(probeKey);
    const key = `running-${input.code}`;
    await plant(key, { status: "in_progress", ageSeconds: 1, hash });
    const reply = await client.post("/regions", input, { "Idempotency-Key": key });
    expect(reply.status).toBe(409);
    expect(reply.body.errors?.[0]?.code).toBe("IDEMPOTENCY_KEY_IN_USE");
    expect(reply.headers.get("retry-after")).toBe("1");
  });

  it("takes over a first attempt that died (in progress for over a minute) with the same request", async () => {
    const input = regionInput();
    const key = `dead-${input.code}`;
    // Run it once to learn the request's hash, then put the world back as a crash would leave it.
    expect((await client.post("/regions", input, { "Idempotency-Key": key })).status).toBe(201);
    const hash = await requestHashOf(key);
    await t.deps
      .db`delete from admin.idempotency_keys where principal_id = ${client.user.id} and key = ${key}`;
    await t.deps
      .db`delete from admin.audit_log where resource_type = 'region' and after->>'code' = ${input.code}`;
    await t.deps.db`delete from admin.regions where code = ${input.code}`;
    await plant(key, { status: "in_progress", ageSeconds: 120, hash });
    const retry = await client.post("/regions", input, { "Idempotency-Key": key });
    expect(retry.status).toBe(201);
    expect(retry.headers.get("idempotent-replayed")).toBeNull();
  });

  it("runs the request again once the key has expired, even with another body", async () => {
    const key = `expired-${Math.random().toString(36).slice(2)}`;
    await plant(key, { status: "completed", ageSeconds: 90_000, expired: true });
    const reply = await client.post("/regions", regionInput(), { "Idempotency-Key": key });
    expect(reply.status).toBe(201);
    expect(reply.headers.get("idempotent-replayed")).toBeNull();
  });

  it("keeps a 4xx answer: it is the answer to that request, replayed like a success", async () => {
    const input = regionInput();
    const key = `err-${input.code}`;
    const bad = await client.post(
      "/regions",
      { ...input, country_code: "XX" },
      { "Idempotency-Key": key },
    );
    expect(bad.status).toBe(400);
    const again = await client.post(
      "/regions",
      { ...input, country_code: "XX" },
      { "Idempotency-Key": key },
    );
    expect(again.status).toBe(400);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
  });
});
