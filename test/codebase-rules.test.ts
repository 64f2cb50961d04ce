import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/** Rules of this codebase that no linter here checks, with the reason each exists. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

describe("codebase rules", () => {
  it("reads Hono context variables with c.get, never c.var (a new object per access)", () => {
    // Hono's `c.var` getter is `Object.fromEntries` of every variable: on a signed-in read it
    // was 5 % of the CPU (bench --profile-signed-in, 2026-11-26). Comments may mention it.
    const offenders = sources("src").flatMap((file) =>
      readFileSync(file, "utf8")
        .split("\n")
        .map((line, index) => ({ file, line: index + 1, text: line }))
        .filter(({ text }) => /\bc\.var\b/.test(text) && !text.trim().startsWith("//")),
    );
    expect(offenders.map(({ file, line }) => `${file}:${line}`)).toEqual([]);
  });
});
