import { randomUUID } from "node:crypto";
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RespClient, RespError, RespParser } from "../support/resp-client";
import { rewriteScriptFlags, sha1Hex, startUpstashProxy } from "../support/upstash-proxy";

const redisUrl = process.env.TEST_REDIS_URL;

describe("rewriteScriptFlags", () => {
  it("drops allow-key-locking and keeps a bare shebang", () => {
    expect(rewriteScriptFlags("#!lua flags=allow-key-locking\nreturn 1")).toBe("#!lua\nreturn 1");
  });

  it("keeps the other flags", () => {
    expect(rewriteScriptFlags("#!lua flags=no-writes,allow-key-locking\nreturn 1")).toBe(
      "#!lua flags=no-writes\nreturn 1",
    );
    expect(rewriteScriptFlags("#!lua flags=allow-key-locking,allow-oom\r\nreturn 1")).toBe(
      "#!lua flags=allow-oom\r\nreturn 1",
    );
  });

  it("leaves scripts without the flag alone", () => {
    expect(rewriteScriptFlags("return 1")).toBeNull();
    expect(rewriteScriptFlags("#!lua flags=no-writes\nreturn 1")).toBeNull();
    expect(rewriteScriptFlags("#!lua\nreturn 1")).toBeNull();
    expect(rewriteScriptFlags("-- #!lua flags=allow-key-locking\nreturn 1")).toBeNull();
  });

  it("handles a script that is only the shebang", () => {
    expect(rewriteScriptFlags("#!lua flags=allow-key-locking")).toBe("#!lua");
  });
});

describe("RespParser", () => {
  it("parses replies split at arbitrary byte boundaries", () => {
    const wire = Buffer.from(
      "+OK\r\n-ERR boom\r\n:42\r\n:-9007199254740993\r\n$5\r\nh\r\nl\x00\r\n$-1\r\n*-1\r\n" +
        "*3\r\n$1\r\na\r\n*1\r\n:1\r\n$0\r\n\r\n",
      "latin1",
    );
    for (let split = 1; split < wire.length; split++) {
      const parser = new RespParser();
      const replies = [
        ...parser.feed(wire.subarray(0, split)),
        ...parser.feed(wire.subarray(split)),
      ];
      expect(replies).toHaveLength(8);
      expect(replies[0]).toBe("OK");
      expect(replies[1]).toBeInstanceOf(RespError);
      expect(replies[2]).toBe(42);
      expect(replies[3]).toBe(-9007199254740993n);
      expect(replies[4]).toEqual(Buffer.from("h\r\nl\x00", "latin1"));
      expect(replies[5]).toBeNull();
      expect(replies[6]).toBeNull();
      expect(replies[7]).toEqual([Buffer.from("a"), [1], Buffer.alloc(0)]);
    }
  });
});

describe.skipIf(!redisUrl)("Upstash REST proxy against real Redis", () => {
  const token = `proxy-test-${randomUUID()}`;
  const prefix = `proxy-test:${randomUUID()}:`;
  let proxy: Awaited<ReturnType<typeof startUpstashProxy>>;
  let resp: RespClient;

  const post = async (
    path: string,
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; json: unknown }> => {
    const response = await fetch(`${proxy.url}${path}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: await response.json() };
  };

  beforeAll(async () => {
    proxy = await startUpstashProxy({ redisUrl: redisUrl ?? "", token });
    resp = new RespClient(redisUrl ?? "");
  });

  afterAll(async () => {
    if (resp) {
      let cursor = "0";
      do {
        const reply = await resp.command("SCAN", cursor, "MATCH", `${prefix}*`, "COUNT", 500);
        if (!Array.isArray(reply)) break;
        const [next, found] = reply;
        cursor = String(next);
        if (Array.isArray(found) && found.length > 0) {
          await resp.command("DEL", ...found.map(String));
        }
      } while (cursor !== "0");
      await resp.close();
    }
    await proxy?.close();
  });

  it("requires the bearer token", async () => {
    for (const authorization of [undefined, "Bearer wrong", `Basic ${token}`, token]) {
      const response = await fetch(proxy.url, {
        method: "POST",
        headers: authorization ? { Authorization: authorization } : {},
        body: JSON.stringify(["PING"]),
      });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: "Unauthorized" });
    }
  });

  it("runs a single command and stringifies number arguments", async () => {
    expect(await post("/", ["SET", `${prefix}n`, 42, "EX", 60])).toEqual({
      status: 200,
      json: { result: "OK" },
    });
    expect(await post("/", ["GET", `${prefix}n`])).toEqual({ status: 200, json: { result: "42" } });
    expect(await post("/", ["INCRBY", `${prefix}n`, 8])).toEqual({
      status: 200,
      json: { result: 50 },
    });
    expect(await post("/", ["GET", `${prefix}missing`])).toEqual({
      status: 200,
      json: { result: null },
    });
  });

  it("base64-encodes every string when asked, recursively", async () => {
    const value = "Grüße ✓";
    await post("/", ["SET", `${prefix}b64`, value, "EX", 60]);
    const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
    const headers = { "Upstash-Encoding": "base64" };
    expect((await post("/", ["GET", `${prefix}b64`], headers)).json).toEqual({
      result: b64(value),
    });
    expect((await post("/", ["PING"], headers)).json).toEqual({ result: b64("PONG") });
    expect((await post("/", ["MGET", `${prefix}b64`, `${prefix}missing`], headers)).json).toEqual({
      result: [b64(value), null],
    });
    expect((await post("/", ["STRLEN", `${prefix}b64`], headers)).json).toEqual({
      result: Buffer.byteLength(value),
    });
  });

  it("maps Redis errors to HTTP 400", async () => {
    await post("/", ["SET", `${prefix}text`, "abc", "EX", 60]);
    const { status, json } = await post("/", ["INCR", `${prefix}text`]);
    expect(status).toBe(400);
    expect(json).toEqual({ error: "ERR value is not an integer or out of range" });
    const unknown = await post("/", ["NOPE"]);
    expect(unknown.status).toBe(400);
    expect(unknown.json).toMatchObject({ error: expect.stringMatching(/^ERR unknown command/) });
    expect((await post("/", {})).status).toBe(400);
    expect((await post("/", [])).status).toBe(400);
    expect((await post("/", ["SELECT", 1])).status).toBe(400);
  });

  it("runs a pipeline with per-command results and errors", async () => {
    const { status, json } = await post("/pipeline", [
      ["SET", `${prefix}p`, "1", "EX", 60],
      ["INCR", `${prefix}p`],
      ["HGET", `${prefix}p`, "field"],
      ["GET", `${prefix}p`],
    ]);
    expect(status).toBe(200);
    expect(json).toEqual([
      { result: "OK" },
      { result: 2 },
      { error: "WRONGTYPE Operation against a key holding the wrong kind of value" },
      { result: "2" },
    ]);
  });

  it("runs multi-exec atomically with per-command errors", async () => {
    const key = `${prefix}m`;
    const { status, json } = await post("/multi-exec", [
      ["SET", key, "10", "EX", 60],
      ["INCRBY", key, 5],
      ["LPUSH", key, "x"],
      ["GET", key],
    ]);
    expect(status).toBe(200);
    expect(json).toEqual([
      { result: "OK" },
      { result: 15 },
      { error: "WRONGTYPE Operation against a key holding the wrong kind of value" },
      { result: "15" },
    ]);

    const aborted = await post("/multi-exec", [["SET", key, "99"], ["NOPE"]]);
    expect(aborted.status).toBe(400);
    expect(aborted.json).toMatchObject({ error: expect.stringMatching(/^EXECABORT/) });
    expect((await post("/", ["GET", key])).json).toEqual({ result: "15" });
  });

  it("keeps concurrent transactions from interleaving", async () => {
    const key = `${prefix}atomic`;
    await Promise.all(
      Array.from({ length: 50 }, () =>
        post("/multi-exec", [
          ["INCR", key],
          ["INCR", key],
        ]),
      ),
    );
    expect((await post("/", ["GET", key])).json).toEqual({ result: "100" });
    await post("/", ["DEL", key]);
  });

  it("translates allow-key-locking scripts for EVAL, SCRIPT LOAD and EVALSHA", async () => {
    const script = `#!lua flags=allow-key-locking\nreturn redis.call("INCRBY", KEYS[1], ARGV[1]) -- ${randomUUID()}`;
    const originalSha = sha1Hex(script);
    const key = `${prefix}script`;

    const missing = await post("/", ["EVALSHA", originalSha, 1, key, 1]);
    expect(missing.status).toBe(400);
    expect(missing.json).toMatchObject({ error: expect.stringMatching(/^NOSCRIPT/) });

    expect((await post("/", ["EVAL", script, 1, key, 2])).json).toEqual({ result: 2 });
    expect((await post("/", ["EVALSHA", originalSha, 1, key, 3])).json).toEqual({ result: 5 });
    expect((await post("/", ["SCRIPT", "LOAD", script])).json).toEqual({ result: originalSha });
    expect((await post("/", ["SCRIPT", "EXISTS", originalSha])).json).toEqual({ result: [1] });

    const readOnly =
      "#!lua flags=no-writes,allow-key-locking\nreturn redis.call('SET', KEYS[1], 'x')";
    const refused = await post("/", ["EVAL", readOnly, 1, key]);
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ error: expect.stringMatching(/read-only|not allowed/i) });
  });

  describe("with @upstash/redis", () => {
    let redis: Redis;

    beforeAll(() => {
      redis = new Redis({ url: proxy.url, token, enableTelemetry: false });
    });

    it("round-trips values, pipelines and transactions", async () => {
      await redis.set(`${prefix}obj`, { a: 1, b: ["x"] }, { ex: 60 });
      expect(await redis.get(`${prefix}obj`)).toEqual({ a: 1, b: ["x"] });
      const [set, incr] = await redis
        .pipeline()
        .set(`${prefix}c`, 1, { ex: 60 })
        .incr(`${prefix}c`)
        .exec();
      expect([set, incr]).toEqual(["OK", 2]);
      const [count] = await redis.multi().incrby(`${prefix}c`, 3).expire(`${prefix}c`, 60).exec();
      expect(count).toBe(5);
      expect(await redis.ping()).toBe("PONG");
    });

    it("surfaces Redis errors as UpstashError", async () => {
      await redis.set(`${prefix}s`, "text", { ex: 60 });
      await expect(redis.incr(`${prefix}s`)).rejects.toThrow(/not an integer/);
    });

    it("rejects a wrong token", async () => {
      const intruder = new Redis({ url: proxy.url, token: "wrong", enableTelemetry: false });
      await expect(intruder.get(`${prefix}obj`)).rejects.toThrow(/Unauthorized/);
    });
  });

  describe("with @upstash/ratelimit", () => {
    let redis: Redis;

    beforeAll(() => {
      redis = new Redis({ url: proxy.url, token, enableTelemetry: false });
    });

    // Window-based limiters legitimately admit more when a burst straddles a window edge, so
    // start each burst well inside a window.
    const awayFromWindowEdge = async (windowMs: number) => {
      const left = windowMs - (Date.now() % windowMs);
      if (left < 1000) await new Promise((resolve) => setTimeout(resolve, left + 50));
    };

    const attempt = async (limiter: Ratelimit, id: string, times: number) => {
      await awayFromWindowEdge(10_000);
      const outcomes: boolean[] = [];
      for (let i = 0; i < times; i++) outcomes.push((await limiter.limit(id)).success);
      return outcomes;
    };

    it("slidingWindow(5, '10 s') allows exactly 5 then blocks", async () => {
      const limiter = new Ratelimit({
        redis,
        limiter: Ratelimit.slidingWindow(5, "10 s"),
        prefix: `${prefix}rl-sliding`,
        ephemeralCache: false,
        analytics: false,
      });
      expect(await attempt(limiter, "user-1", 7)).toEqual([
        true,
        true,
        true,
        true,
        true,
        false,
        false,
      ]);
      // A different identifier has its own budget.
      expect((await limiter.limit("user-2")).success).toBe(true);
      const remaining = await limiter.getRemaining("user-1");
      expect(remaining.remaining).toBe(0);
    });

    it("fixedWindow(3, '10 s') allows exactly 3 then blocks", async () => {
      const limiter = new Ratelimit({
        redis,
        limiter: Ratelimit.fixedWindow(3, "10 s"),
        prefix: `${prefix}rl-fixed`,
        ephemeralCache: false,
        analytics: false,
      });
      expect(await attempt(limiter, "user-1", 5)).toEqual([true, true, true, false, false]);
    });

    it("tokenBucket(1, '10 s', 4) allows the burst of 4 then blocks", async () => {
      const limiter = new Ratelimit({
        redis,
        limiter: Ratelimit.tokenBucket(1, "10 s", 4),
        prefix: `${prefix}rl-bucket`,
        ephemeralCache: false,
        analytics: false,
      });
      expect(await attempt(limiter, "user-1", 6)).toEqual([true, true, true, true, false, false]);
    });

    it("keeps working after Redis forgot the scripts (NOSCRIPT fallback)", async () => {
      await resp.command("SCRIPT", "FLUSH");
      const limiter = new Ratelimit({
        redis,
        limiter: Ratelimit.slidingWindow(2, "10 s"),
        prefix: `${prefix}rl-flushed`,
        ephemeralCache: false,
        analytics: false,
      });
      expect(await attempt(limiter, "user-1", 3)).toEqual([true, true, false]);
    });
  });
});
