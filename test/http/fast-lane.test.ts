import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { GuestSessions } from "../../src/core/auth/guest-sessions";
import {
  MemoryRateLimiter,
  type RateLimiter,
  RateLimiterUnavailableError,
} from "../../src/core/auth/rate-limiter";
import type { CachedJson } from "../../src/core/cache/read-through";
import { referenceKeys } from "../../src/features/reference-data/service";
import { createTestApp, randomIp, type TestApp } from "../support/harness";

/**
 * The warm-read fast lane (ADR 0016) must answer exactly as the slow path (Hono's middleware
 * chain) would. Every scenario sends the same requests, in lock step, to an app with the lane and
 * to one without it, and compares status, headers (but X-Request-ID, X-Process-Time and Date),
 * body bytes (but the request id) and the log lines (but time, request id and duration). Each
 * step also says which way the lane app went, observed from outside: the router is consulted
 * only when Hono dispatches, and admissions are counted on the session store.
 *
 * Date is frozen for the file, so both apps stamp the same timestamps and rate-limit resets.
 */

type Side = "lane" | "slow";
/** `answers`: the lane answered itself; `hands-over`: it admitted, then Hono answered; `passes`: not eligible. */
type Way = "answers" | "hands-over" | "passes";

interface Pair {
  lane: TestApp;
  slow: TestApp;
  counts: Record<Side, { admits: number; routed: number }>;
}

const SESSION_LIMIT = 6;
const TOKEN_TEXT = /guest_[0-9a-f]{32}:[A-Za-z0-9_-]{43}/g;
const DATA = { list: "/api/v1/currencies?page=1&page_size=20" };

/**
 * Counts the admissions of the app's session store (of the one it has now): `admit`, and the
 * synchronous `admitHeld` when it decided (admitted, or threw) rather than deferring to `admit`.
 */
function countAdmissions(t: TestApp, counts: { admits: number }) {
  const sessions = t.deps.guestSessions;
  const admit = sessions.admit.bind(sessions);
  sessions.admit = (input) => {
    counts.admits += 1;
    return admit(input);
  };
  const admitHeld = sessions.admitHeld.bind(sessions);
  sessions.admitHeld = (token) => {
    let access: ReturnType<typeof admitHeld>;
    try {
      access = admitHeld(token);
    } catch (error) {
      counts.admits += 1;
      throw error;
    }
    if (access !== undefined) counts.admits += 1;
    return access;
  };
}

/** Counts admissions and router lookups (Hono dispatching). */
function instrument(t: TestApp, counts: { admits: number; routed: number }) {
  countAdmissions(t, counts);
  const router = t.app.router;
  const match = router.match.bind(router);
  router.match = (method, path) => {
    counts.routed += 1;
    return match(method, path);
  };
}

async function pairOf(env: Record<string, string> = {}): Promise<Pair> {
  const config = { LOG_LEVEL: "info", GUEST_SESSION_REQUEST_LIMIT: String(SESSION_LIMIT), ...env };
  const lane = await createTestApp(config);
  const slow = await createTestApp(config, { fastLane: false });
  const pair: Pair = {
    lane,
    slow,
    counts: { lane: { admits: 0, routed: 0 }, slow: { admits: 0, routed: 0 } },
  };
  // Hono's smart router picks its router on the first match and replaces `match` then.
  for (const t of [lane, slow]) await (await t.request("/health/live")).arrayBuffer();
  instrument(lane, pair.counts.lane);
  instrument(slow, pair.counts.slow);
  return pair;
}

interface Seen {
  status: number;
  headers: [string, string][];
  body: string;
  requestId: string | null;
  logs: Record<string, unknown>[];
  admits: number;
  routed: number;
  raw: Response;
  text: string;
}

async function send(
  pair: Pair,
  side: Side,
  path: string,
  init: RequestInit & { ip?: string } = {},
): Promise<Seen> {
  const t = pair[side];
  const counts = pair.counts[side];
  const before = { ...counts };
  const logsBefore = t.logs.length;
  const res = await t.request(path, init);
  const text = await res.text();
  const requestId = res.headers.get("x-request-id");
  const mask = (value: string) => {
    // Each app has its own sessions: their tokens and ids differ, nothing else may.
    let out = value
      .replace(TOKEN_TEXT, "<guest-token>")
      .replace(/"session_id":"[0-9a-f]{32}"/g, '"session_id":"<id>"');
    if (requestId) out = out.split(requestId).join("<request-id>");
    return out;
  };
  const headers = [...res.headers]
    .filter(([name]) => !["x-request-id", "x-process-time", "date"].includes(name))
    .map(([name, value]): [string, string] => [name, mask(value)]);
  const logs = t.logs.slice(logsBefore).map((line) => {
    const { time: _time, request_id, duration_ms, ...rest } = line;
    if (line.msg === "request") {
      expect(request_id, "the request line carries the request id").toBe(requestId);
      expect(typeof duration_ms).toBe("number");
    }
    return JSON.parse(mask(JSON.stringify(rest))) as Record<string, unknown>;
  });
  return {
    status: res.status,
    headers,
    body: mask(text),
    requestId,
    logs,
    admits: counts.admits - before.admits,
    routed: counts.routed - before.routed,
    raw: res,
    text,
  };
}

/** Sends one request to both apps and checks they answered alike; returns the lane's answer. */
async function step(
  pair: Pair,
  way: Way,
  path: string,
  init: (side: Side) => RequestInit & { ip?: string } = () => ({}),
): Promise<Seen> {
  const lane = await send(pair, "lane", path, init("lane"));
  const slow = await send(pair, "slow", path, init("slow"));
  const label = `${init("lane").method ?? "GET"} ${path} (${way})`;
  expect(lane.status, label).toBe(slow.status);
  expect(lane.headers, label).toEqual(slow.headers);
  expect(lane.body, label).toBe(slow.body);
  expect(lane.logs, label).toEqual(slow.logs);
  expect(
    lane.logs.filter((l) => l.msg === "request"),
    `${label}: one request line`,
  ).toHaveLength(1);
  // Counted exactly as often on both paths: never twice.
  expect(lane.admits, `${label}: admissions`).toBe(slow.admits);
  expect(lane.admits, `${label}: admissions`).toBeLessThanOrEqual(1);
  expect(slow.routed, `${label}: the slow app routes`).toBe(1);
  expect(lane.routed, `${label}: the lane app routes`).toBe(way === "answers" ? 0 : 1);
  if (way !== "passes") expect(lane.admits, `${label}: admitted`).toBe(1);
  return lane;
}

/** A new guest session in each app (through the slow path: no token, no lane). */
async function sessions(pair: Pair, ip: string, path = DATA.list): Promise<Record<Side, string>> {
  const lane = await send(pair, "lane", path, { ip });
  const slow = await send(pair, "slow", path, { ip });
  const tokens = {
    lane: lane.raw.headers.get("x-guest-session"),
    slow: slow.raw.headers.get("x-guest-session"),
  };
  if (!tokens.lane || !tokens.slow) throw new Error("no session created");
  return { lane: tokens.lane, slow: tokens.slow };
}

const guest = (tokens: Record<Side, string>, ip: string, headers: Record<string, string> = {}) => {
  return (side: Side) => ({ ip, headers: { "x-guest-session": tokens[side], ...headers } });
};

let pair: Pair;
beforeAll(async () => {
  vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
  pair = await pairOf();
});
afterAll(async () => {
  vi.useRealTimers();
  await pair.lane.close();
  await pair.slow.close();
});

describe("the fast lane answers warm guest reads exactly as the slow path", () => {
  it("warm list: same bytes, same headers, same log line, counted once", async () => {
    const ip = randomIp();
    const tokens = await sessions(pair, ip);
    for (let i = 0; i < 2; i++) {
      const seen = await step(pair, "answers", DATA.list, guest(tokens, ip));
      expect(seen.status).toBe(200);
      expect(seen.raw.headers.get("x-guest-session-status")).toBe("active");
      expect(seen.raw.headers.get("ratelimit-remaining")).toBe(String(SESSION_LIMIT - 2 - i));
      expect(seen.raw.headers.get("content-security-policy")).toContain("default-src 'none'");
      const body = JSON.parse(seen.text);
      expect(body.metadata.request_id).toBe(seen.requestId);
      expect(body.data.items).toHaveLength(20);
    }
  });

  it("warm single resources and the other reference-data routes", async () => {
    const paths = [
      "/api/v1/currencies/EUR",
      "/api/v1/currencies/eur",
      "/api/v1/currencies/active",
      "/api/v1/countries/DE",
      "/api/v1/countries/code3/DEU",
      "/api/v1/countries/continent/north-america",
      "/api/v1/countries/gdpr",
      "/api/v1/countries?continent=Europe&page_size=5",
      "/api/v1/languages/de",
      "/api/v1/languages/iso639-1/de",
      "/api/v1/languages/active",
      "/api/v1/languages?page=2&page_size=3",
    ];
    for (const path of paths) {
      // A fresh session per path, so that no session runs out of requests.
      const ip = randomIp();
      const tokens = await sessions(pair, ip, path);
      const seen = await step(pair, "answers", path, guest(tokens, ip));
      expect(seen.status, path).toBe(200);
    }
  });

  it("different query strings: the lane answers only those the route has parsed already", async () => {
    const ip = randomIp();
    const tokens = await sessions(pair, ip);
    // The first request of a query string parses it (slow path); the next is the lane's.
    for (const query of ["?page=2&page_size=5", "?page_size=5&page=2", "?search=%E2%82%AC"]) {
      const path = `/api/v1/currencies${query}`;
      const fresh = await sessions(pair, randomIp(), path);
      await step(pair, "answers", path, guest(fresh, ip));
    }
    // An invalid query is never parsed into the cache: the slow path answers 400, counted once.
    const invalid = await step(pair, "hands-over", "/api/v1/currencies?page=0", guest(tokens, ip));
    expect(invalid.status).toBe(400);
    expect(
      (await step(pair, "hands-over", "/api/v1/currencies?page=0", guest(tokens, ip))).status,
    ).toBe(400);
  });

  it("an unknown code (a cached 404) and an invalid one go to the slow path", async () => {
    const ip = randomIp();
    const tokens = await sessions(pair, ip);
    for (let i = 0; i < 2; i++) {
      expect((await step(pair, "passes", "/api/v1/currencies/QQQ", guest(tokens, ip))).status).toBe(
        404,
      );
    }
    expect((await step(pair, "passes", "/api/v1/currencies/EURO", guest(tokens, ip))).status).toBe(
      400,
    );
  });

  it("an exhausted session: 429 through the slow path, admitted once", async () => {
    const ip = randomIp();
    const tokens = await sessions(pair, ip);
    for (let i = 1; i < SESSION_LIMIT; i++)
      await step(pair, "answers", DATA.list, guest(tokens, ip));
    for (let i = 0; i < 2; i++) {
      const seen = await step(pair, "hands-over", DATA.list, guest(tokens, ip));
      expect(seen.status).toBe(429);
      expect(seen.raw.headers.get("retry-after")).not.toBeNull();
      expect(seen.raw.headers.get("ratelimit-remaining")).toBe("0");
    }
  });

  it("new sessions: no token, an unknown token, a malformed guest token, a non-guest token", async () => {
    const ip = randomIp();
    const created = await step(pair, "passes", DATA.list, () => ({ ip }));
    expect(created.raw.headers.get("x-guest-session-status")).toBe("created");
    const unknown = `guest_${"0".repeat(32)}:${"A".repeat(43)}`;
    for (const [token, way, reason] of [
      [unknown, "hands-over", "unknown-or-expired"],
      ["guest_not-a-token", "hands-over", "unknown-or-expired"],
      ["not-a-guest-token", "passes", "not-a-guest-token"],
    ] as const) {
      const seen = await step(pair, way, DATA.list, () => ({
        ip,
        headers: { "x-guest-session": token },
      }));
      expect(seen.raw.headers.get("x-guest-session-status"), token).toBe("created");
      expect(seen.raw.headers.get("x-guest-session-rejected"), token).toBe(reason);
      expect(seen.raw.headers.get("cache-control"), token).toBe("no-store");
      expect(JSON.parse(seen.text).metadata.new_session_token).toMatch(TOKEN_TEXT);
    }
  });

  it("degraded: the limiter is down, the session store answers with the fallback policy", async () => {
    const ip = randomIp();
    const tokens = await sessions(pair, ip);
    const restore: (() => void)[] = [];
    for (const side of ["lane", "slow"] as const) {
      const t = pair[side];
      const real = t.deps.guestSessions;
      const down: RateLimiter = {
        kind: "memory",
        limit: () => Promise.reject(new RateLimiterUnavailableError("limiter down")),
        peek: () => Promise.reject(new RateLimiterUnavailableError("limiter down")),
      };
      t.deps.guestSessions = new GuestSessions({
        cache: t.deps.cache,
        rateLimiter: down,
        fallbackLimiter: new MemoryRateLimiter(),
        config: t.deps.config.guest,
      });
      countAdmissions(t, pair.counts[side]);
      restore.push(() => {
        t.deps.guestSessions = real;
      });
    }
    try {
      for (let i = 0; i < 2; i++) {
        const seen = await step(pair, "hands-over", DATA.list, guest(tokens, ip));
        expect(seen.status).toBe(200);
        expect(seen.raw.headers.get("x-guest-session-status")).toBe("degraded");
        expect(seen.raw.headers.get("ratelimit-policy")).toBe("120;w=60");
      }
    } finally {
      for (const undo of restore) undo();
    }
  });

  it("If-None-Match: 304 from the lane when the ETag matches, 200 otherwise", async () => {
    const ip = randomIp();
    const tokens = await sessions(pair, ip);
    const etag = (await step(pair, "answers", DATA.list, guest(tokens, ip))).raw.headers.get(
      "etag",
    );
    expect(etag).toMatch(/^W\/"/);
    for (const [value, status] of [
      [etag ?? "", 304],
      [`"other", ${etag}`, 304],
      ["*", 304],
      ['W/"not-this-one"', 200],
    ] as const) {
      const seen = await step(
        pair,
        "answers",
        DATA.list,
        guest(tokens, ip, { "if-none-match": value }),
      );
      expect(seen.status, value).toBe(status);
      if (status === 304) {
        expect(seen.text).toBe("");
        expect(seen.raw.headers.get("content-type")).toBeNull();
        expect(seen.raw.headers.get("etag")).toBe(etag);
      }
    }
  });

  it("an answer keeps its headers when the next one is prepared", async () => {
    const ip = randomIp();
    const tokens = await sessions(pair, ip);
    const first = await step(pair, "answers", DATA.list, guest(tokens, ip));
    const seen = [...first.raw.headers];
    await step(pair, "answers", DATA.list, guest(tokens, ip));
    expect([...first.raw.headers]).toEqual(seen);
    expect(first.raw.headers.get("ratelimit-remaining")).toBe(String(SESSION_LIMIT - 2));
  });

  it("request ids: a valid incoming one is kept, an invalid one replaced", async () => {
    const ip = randomIp();
    const tokens = await sessions(pair, ip);
    const kept = await step(
      pair,
      "answers",
      DATA.list,
      guest(tokens, ip, { "x-request-id": "client-trace-0001" }),
    );
    expect(kept.requestId).toBe("client-trace-0001");
    expect(JSON.parse(kept.text).metadata.request_id).toBe("client-trace-0001");
    const replaced = await step(
      pair,
      "answers",
      DATA.list,
      guest(tokens, ip, { "x-request-id": "bad id" }),
    );
    expect(replaced.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("a guest token as a bearer is the lane's; an Origin without CORS changes nothing", async () => {
    const ip = randomIp();
    const tokens = await sessions(pair, ip);
    await step(pair, "answers", DATA.list, (side) => ({
      ip,
      headers: { authorization: `Bearer ${tokens[side]}` },
    }));
    await step(
      pair,
      "answers",
      DATA.list,
      guest(tokens, ip, { origin: "https://elsewhere.example" }),
    );
  });

  it("HEAD, unknown paths and other routes go to the slow path", async () => {
    const ip = randomIp();
    const tokens = await sessions(pair, ip);
    const head = await step(pair, "passes", DATA.list, (side) => ({
      ...guest(tokens, ip)(side),
      method: "HEAD",
    }));
    expect(head.status).toBe(200);
    expect(head.text).toBe("");
    expect((await step(pair, "passes", "/api/v1/currencies/EUR/x", guest(tokens, ip))).status).toBe(
      404,
    );
    expect((await step(pair, "passes", "/api/v1/nope", guest(tokens, ip))).status).toBe(404);
    await step(pair, "passes", "/api/v1/currencies/", guest(tokens, ip));
    expect((await step(pair, "passes", "/api/v1/session", guest(tokens, ip))).status).toBe(200);
    expect((await step(pair, "passes", "/openapi.json", () => ({ ip }))).status).toBe(200);
    const post = await step(pair, "passes", DATA.list, (side) => ({
      ...guest(tokens, ip)(side),
      method: "POST",
      body: "{}",
    }));
    expect(post.status).toBe(405);
  });

  it("a signed-in platform user's bearer goes to the slow path (with or without a guest token)", async () => {
    const ip = randomIp();
    const tokens = await sessions(pair, ip);
    const bearer = {
      lane: await (await pair.lane.createUser()).token(),
      slow: await (await pair.slow.createUser()).token(),
    };
    const user = await step(pair, "passes", DATA.list, (side) => ({
      ip,
      headers: { authorization: `Bearer ${bearer[side]}` },
    }));
    expect(user.raw.headers.get("x-reader-type")).toBe("user");
    // Both headers: the guest token wins on both paths; the lane leaves it to the slow path.
    const both = await step(pair, "passes", DATA.list, (side) => ({
      ip,
      headers: { authorization: `Bearer ${bearer[side]}`, "x-guest-session": tokens[side] },
    }));
    expect(both.raw.headers.get("x-guest-session-status")).toBe("active");
    // Not a valid access token: refused as a platform token, read as a new guest.
    const refused = await step(pair, "passes", DATA.list, () => ({
      ip,
      headers: { authorization: "Bearer not.a.jwt" },
    }));
    expect(refused.raw.headers.get("x-guest-session-rejected")).toBe("invalid-access-token");
  });
});

describe("failures on the lane are the slow path's failures", () => {
  it("a failure while deciding: the slow path answers it (500), counted once", async () => {
    const ip = randomIp();
    const tokens = await sessions(pair, ip);
    const restore: (() => void)[] = [];
    for (const side of ["lane", "slow"] as const) {
      const local = pair[side].deps.localCache;
      const get = local.get;
      local.get = () => {
        throw new Error("local cache broken");
      };
      restore.push(() => {
        local.get = get;
      });
    }
    try {
      const seen = await step(pair, "passes", DATA.list, guest(tokens, ip));
      expect(seen.status).toBe(500);
      expect(seen.logs.map((l) => l.msg)).toEqual(["unhandled error", "request"]);
    } finally {
      for (const undo of restore) undo();
    }
  });

  it("a failure while answering: handed over with its admission, the slow path fails alike", async () => {
    const ip = randomIp();
    const path = "/api/v1/currencies/EUR";
    const tokens = await sessions(pair, ip, path);
    const key = referenceKeys.currency("EUR");
    const kept: Partial<Record<Side, CachedJson>> = {};
    for (const side of ["lane", "slow"] as const) {
      const local = pair[side].deps.localCache;
      const cached = local.get(key);
      if (!cached) throw new Error("not cached");
      kept[side] = cached;
      // Not a valid header value: setting it throws on both paths.
      local.set(key, { json: cached.json, etag: 'W/"a\nb"' }, 60);
    }
    try {
      const seen = await step(pair, "hands-over", path, guest(tokens, ip));
      expect(seen.status).toBe(500);
    } finally {
      for (const side of ["lane", "slow"] as const) {
        const cached = kept[side];
        if (cached) pair[side].deps.localCache.set(key, cached, 60);
      }
    }
  });
});

describe("synchronous and asynchronous admissions", () => {
  /**
   * Runs `body` with the lane app's session store swapped for one the test controls (admissions
   * counted), and puts the app's own back afterwards, whatever happens.
   */
  async function withSessions<T>(
    make: (t: TestApp) => GuestSessions,
    body: () => Promise<T>,
  ): Promise<T> {
    const t = pair.lane;
    const real = t.deps.guestSessions;
    t.deps.guestSessions = make(t);
    countAdmissions(t, pair.counts.lane);
    try {
      return await body();
    } finally {
      t.deps.guestSessions = real;
    }
  }

  /** `app.fetch` as Bun.serve calls it: what it returns, and the response once settled. */
  async function fetchDirect(token: string, ip: string) {
    const before = { ...pair.counts.lane };
    const request = new Request(`http://localhost${DATA.list}`, {
      headers: { "x-guest-session": token, "x-test-peer": ip },
    });
    const returned = pair.lane.app.fetch(request);
    const response = await returned;
    await response.arrayBuffer();
    return {
      sync: returned instanceof Response,
      response,
      admits: pair.counts.lane.admits - before.admits,
      routed: pair.counts.lane.routed - before.routed,
    };
  }

  /** A session store over the app's cache, counting with `limiter`. */
  const storeWith =
    (limiter: RateLimiter, now?: () => number) =>
    (t: TestApp): GuestSessions =>
      new GuestSessions({
        cache: t.deps.cache,
        rateLimiter: limiter,
        fallbackLimiter: new MemoryRateLimiter(),
        config: t.deps.config.guest,
        ...(now ? { now } : {}),
      });

  /** A new session through the lane app's current store (no token: the slow path creates it). */
  async function newSession(ip: string): Promise<string> {
    const res = await pair.lane.request(DATA.list, { ip });
    await res.arrayBuffer();
    const token = res.headers.get("x-guest-session");
    if (!token) throw new Error("no session created");
    return token;
  }

  it("a warm session this process holds is answered synchronously (no promise)", async () => {
    await withSessions(storeWith(new MemoryRateLimiter()), async () => {
      const ip = randomIp();
      const token = await newSession(ip);
      const warm = await fetchDirect(token, ip);
      expect(warm).toMatchObject({ sync: true, admits: 1, routed: 0 });
      expect(warm.response.status).toBe(200);
      expect(warm.response.headers.get("x-guest-session-status")).toBe("active");
      expect(warm.response.headers.get("ratelimit-remaining")).toBe(String(SESSION_LIMIT - 2));
    });
  });

  it("a session another process created: admitted asynchronously once, then held", async () => {
    const limiter = new MemoryRateLimiter();
    const ip = randomIp();
    const token = await withSessions(storeWith(limiter), () => newSession(ip));
    // A new store over the same cache and limiter holds no session yet, like another replica.
    await withSessions(storeWith(limiter), async () => {
      const first = await fetchDirect(token, ip);
      expect(first).toMatchObject({ sync: false, admits: 1, routed: 0 });
      expect(first.response.headers.get("ratelimit-remaining")).toBe(String(SESSION_LIMIT - 2));
      const second = await fetchDirect(token, ip);
      expect(second).toMatchObject({ sync: true, admits: 1, routed: 0 });
      expect(second.response.headers.get("ratelimit-remaining")).toBe(String(SESSION_LIMIT - 3));
    });
  });

  it("a limiter that counts elsewhere (as Upstash does): answered asynchronously, alike", async () => {
    const ip = randomIp();
    const tokens = await sessions(pair, ip);
    // Only the asynchronous half of the port, as a remote limiter has.
    const remote = (t: TestApp) => {
      const local = t.deps.rateLimiter;
      const limiter: RateLimiter = {
        kind: "upstash",
        limit: (rule, id) => local.limit(rule, id),
        peek: (rule, id) => local.peek(rule, id),
      };
      return storeWith(limiter)(t);
    };
    await withSessions(remote, async () => {
      for (let i = 0; i < 2; i++) {
        const warm = await fetchDirect(tokens.lane, ip);
        expect(warm).toMatchObject({ sync: false, admits: 1, routed: 0 });
        expect(warm.response.status).toBe(200);
      }
    });
  });

  it("a held session with a wrong secret is not admitted synchronously: a new session", async () => {
    await withSessions(storeWith(new MemoryRateLimiter()), async () => {
      const ip = randomIp();
      const token = await newSession(ip);
      const forged = `${token.slice(0, token.indexOf(":") + 1)}${"A".repeat(43)}`;
      const seen = await fetchDirect(forged, ip);
      expect(seen).toMatchObject({ sync: false, admits: 1, routed: 1 });
      expect(seen.response.headers.get("x-guest-session-status")).toBe("created");
      expect(seen.response.headers.get("x-guest-session-rejected")).toBe("unknown-or-expired");
    });
  });

  it("an exhausted held session: refused synchronously, answered (429) by the slow path", async () => {
    await withSessions(storeWith(new MemoryRateLimiter()), async () => {
      const ip = randomIp();
      const token = await newSession(ip);
      for (let i = 1; i < SESSION_LIMIT; i++) {
        expect(await fetchDirect(token, ip)).toMatchObject({ sync: true, admits: 1, routed: 0 });
      }
      const refused = await fetchDirect(token, ip);
      expect(refused).toMatchObject({ sync: false, admits: 1, routed: 1 });
      expect(refused.response.status).toBe(429);
      expect(refused.response.headers.get("retry-after")).not.toBeNull();
      expect(refused.response.headers.get("ratelimit-remaining")).toBe("0");
    });
  });

  it("a held session past its expiry is not admitted: a new session, counted once", async () => {
    const clock = { now: Date.now() };
    await withSessions(
      storeWith(new MemoryRateLimiter(), () => clock.now),
      async () => {
        const ip = randomIp();
        const token = await newSession(ip);
        clock.now += pair.lane.deps.config.guest.ttlSeconds * 1000 + 1;
        const seen = await fetchDirect(token, ip);
        expect(seen).toMatchObject({ sync: false, admits: 1, routed: 1 });
        expect(seen.response.headers.get("x-guest-session-status")).toBe("created");
        expect(seen.response.headers.get("x-guest-session-rejected")).toBe("unknown-or-expired");
      },
    );
  });
});

describe("dependencies from a per-request hook (as on Workers)", () => {
  it("the lane resolves them the same way and answers", async () => {
    const t = pair.lane;
    const app = createApp({
      config: t.deps.config,
      deps: (c) => (c.env as { deps: typeof t.deps }).deps,
      socketAddress: (c) => c.req.header("x-test-peer"),
    });
    const env = { deps: t.deps };
    const ip = randomIp();
    const first = await app.request(DATA.list, { headers: { "x-test-peer": ip } }, env);
    const token = first.headers.get("x-guest-session") ?? "";
    const router = app.router;
    const match = router.match.bind(router);
    let routed = 0;
    router.match = (method, path) => {
      routed += 1;
      return match(method, path);
    };
    const warm = await app.request(
      DATA.list,
      { headers: { "x-test-peer": ip, "x-guest-session": token } },
      env,
    );
    expect(warm.status).toBe(200);
    expect(warm.headers.get("x-guest-session-status")).toBe("active");
    expect(routed).toBe(0);
    const line = t.logs.at(-1);
    expect(line).toMatchObject({ msg: "request", status: 200, ip });
  });
});

describe("with CORS configured the lane stands aside", () => {
  let cors: Pair;
  beforeAll(async () => {
    cors = await pairOf({ CORS_ORIGINS: "https://console.example" });
  });
  afterAll(async () => {
    await cors.lane.close();
    await cors.slow.close();
  });

  it("preflight and Origin requests are answered by the slow path, alike", async () => {
    const ip = randomIp();
    const tokens = await sessions(cors, ip);
    const origin = { origin: "https://console.example" };
    const preflight = await step(cors, "passes", DATA.list, () => ({
      ip,
      method: "OPTIONS",
      headers: { ...origin, "access-control-request-method": "GET" },
    }));
    expect(preflight.status).toBe(204);
    for (const headers of [origin, {}]) {
      const seen = await step(cors, "passes", DATA.list, guest(tokens, ip, headers));
      expect(seen.status).toBe(200);
      expect(seen.raw.headers.get("access-control-expose-headers")).toContain("X-Request-ID");
    }
  });
});
