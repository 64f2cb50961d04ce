import { describe, expect, it } from "vitest";
import { keys } from "../../src/core/cache/keys";

describe("cache key builders", () => {
  it("prefixes each namespace", () => {
    expect(keys.platform("settings", "v1")).toBe("platform:settings:v1");
    expect(keys.tenant("t_42", "users", 7)).toBe("tenant:t_42:users:7");
    expect(keys.guest("session", "abc-DEF.1")).toBe("guest:session:abc-DEF.1");
    expect(keys.ref("countries")).toBe("ref:countries");
  });

  it("keeps tenant data inside the tenant's namespace", () => {
    expect(keys.tenant("acme", "x").startsWith("tenant:acme:")).toBe(true);
    expect(keys.tenant("acme")).toBe("tenant:acme");
  });

  it.each([
    ["a segment containing the separator", "a:b"],
    ["a glob character", "x*"],
    ["a glob class", "[ab]"],
    ["a question mark", "a?"],
    ["an empty segment", ""],
    ["a path traversal", "../"],
    ["whitespace", "a b"],
    ["a newline", "a\nb"],
    ["a non-ASCII character", "ä"],
  ])("rejects %s", (_label, segment) => {
    expect(() => keys.platform(segment)).toThrow(/invalid cache key segment/);
    expect(() => keys.guest("ok", segment)).toThrow(/invalid cache key segment/);
    expect(() => keys.ref(segment)).toThrow(/invalid cache key segment/);
  });

  it("validates the tenant id like any other segment", () => {
    expect(() => keys.tenant("acme:platform", "x")).toThrow(/invalid cache key segment/);
    expect(() => keys.tenant("", "x")).toThrow(/invalid cache key segment/);
  });

  it("accepts numbers as segments", () => {
    expect(keys.platform("page", 0, -1)).toBe("platform:page:0:-1");
  });
});
