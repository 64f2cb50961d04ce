import { describe, expect, it } from "vitest";
import { createLogger, type LogLevel } from "../../src/core/log/logger";
import { redactUrlSearch } from "../../src/core/log/redact";

/** A logger whose lines the test reads back, parsed, with their raw text. */
function capture(level: LogLevel = "debug", base?: Record<string, unknown>) {
  const raw: string[] = [];
  const logger = createLogger({ level, sink: (line) => raw.push(line), ...(base ? { base } : {}) });
  const lines = () => raw.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, raw, lines };
}

const GUEST = `guest_${"a".repeat(32)}:${"S".repeat(43)}`;
const JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";

describe("structured logger", () => {
  it("writes one JSON line: time, level, msg, then base, child and call fields in that order", () => {
    const { logger, raw, lines } = capture("debug", { service: "api" });
    logger.child({ request_id: "r-1" }).info("hello", { status: 200, service: "override" });
    expect(raw).toHaveLength(1);
    const [line] = lines();
    expect(Object.keys(line ?? {})).toEqual([
      "time",
      "level",
      "msg",
      "service",
      "request_id",
      "status",
    ]);
    expect(line).toMatchObject({
      level: "info",
      msg: "hello",
      service: "override",
      request_id: "r-1",
    });
    expect(Date.parse(String(line?.time))).not.toBeNaN();
  });

  it("writes nothing below its level, and says so through enabled()", () => {
    const { logger, raw } = capture("warn");
    logger.debug("no");
    logger.info("no");
    logger.warn("yes");
    logger.error("yes");
    expect(raw).toHaveLength(2);
    expect(logger.enabled("info")).toBe(false);
    expect(logger.enabled("error")).toBe(true);
  });

  it("masks fields named like secrets, at any depth, and keeps identifiers", () => {
    const { logger, lines } = capture();
    logger.info("login", {
      password: "hunter2",
      access_token: "abc",
      Authorization: "Basic xyz",
      nested: { api_key: "k", client_secret: "s", list: [{ refreshToken: "t" }] },
      session_id: "0123",
      request_id: "r-2",
    });
    expect(lines()[0]).toMatchObject({
      password: "[REDACTED]",
      access_token: "[REDACTED]",
      Authorization: "[REDACTED]",
      nested: {
        api_key: "[REDACTED]",
        client_secret: "[REDACTED]",
        list: [{ refreshToken: "[REDACTED]" }],
      },
      session_id: "0123",
      request_id: "r-2",
    });
  });

  it("masks guest tokens, bearer tokens and JWTs inside free text, message included", () => {
    const { logger, raw } = capture();
    logger.warn(`rejected ${GUEST}`, {
      detail: `header was Bearer ${JWT}`,
      user_agent: `x ${JWT}`,
    });
    expect(raw[0]).not.toContain(GUEST);
    expect(raw[0]).not.toContain("S".repeat(43));
    expect(raw[0]).not.toContain(JWT);
    expect(raw[0]).toContain("[REDACTED]");
  });

  it("writes errors as name, message and stack, masked too", () => {
    const { logger, lines } = capture();
    logger.error("failed", { error: new TypeError(`bad ${GUEST}`) });
    const error = lines()[0]?.error as { name: string; message: string; stack: string };
    expect(error.name).toBe("TypeError");
    expect(error.message).toBe("bad [REDACTED]");
    expect(error.stack).not.toContain(GUEST);
  });

  it("stops at a depth limit instead of following a deep structure", () => {
    const { logger, lines } = capture();
    let deep: Record<string, unknown> = { end: true };
    for (let i = 0; i < 20; i++) deep = { next: deep };
    logger.info("deep", { deep });
    expect(JSON.stringify(lines()[0])).toContain("[DEPTH]");
  });
});

describe("query strings in log lines", () => {
  it("keeps plain queries as they are and masks secret-named parameters", () => {
    expect(redactUrlSearch("?page=1&page_size=20")).toBe("?page=1&page_size=20");
    expect(redactUrlSearch("?page=1&token=abc")).toBe("?page=1&token=%5BREDACTED%5D");
    // Secrets in the values of other parameters, as a client would encode them.
    for (const value of [GUEST, `Bearer ${"o".repeat(30)}`, JWT]) {
      const masked = redactUrlSearch(`?q=${encodeURIComponent(value)}&page=1`);
      expect(masked, value).toContain("REDACTED");
      expect(masked, value).not.toContain(value.slice(-20));
      const form = redactUrlSearch(`?q=${new URLSearchParams({ v: value }).toString().slice(2)}`);
      expect(form, value).not.toContain(value.slice(-20));
    }
    expect(redactUrlSearch("")).toBe("");
  });
});
