import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sha256HexSync, sha256KeySync } from "../../src/core/auth/token-hash";
import { sha256Hex } from "../../src/core/crypto/hash";

describe("synchronous SHA-256 for the verified-token cache", () => {
  it.each([
    ["", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
    ["abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
    [
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    ],
  ])("matches the FIPS 180-4 vector for %j", (input, digest) => {
    expect(sha256HexSync(input)).toBe(digest);
  });

  it("matches WebCrypto for every length around the block and padding boundaries", async () => {
    for (let length = 0; length <= 300; length++) {
      const text = Array.from({ length }, (_, i) =>
        String.fromCharCode(45 + ((i * 31 + length) % 78)),
      ).join("");
      expect(sha256HexSync(text), `length ${length}`).toBe(await sha256Hex(text));
    }
  });

  it("hashes the UTF-8 bytes of non-ASCII text, as WebCrypto does", async () => {
    for (const text of ["é", "ünïcødé ✓", "😀".repeat(100), `${"a".repeat(5000)}€`]) {
      expect(sha256HexSync(text)).toBe(await sha256Hex(text));
    }
  });

  it("handles inputs larger than its reusable buffer, and small ones afterwards", async () => {
    const large = "x".repeat(100_000);
    expect(sha256HexSync(large)).toBe(await sha256Hex(large));
    expect(sha256HexSync("abc")).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });

  it("gives the same digest in the compact key form", async () => {
    for (const text of ["", "abc", "x".repeat(342), "ünïcødé ✓".repeat(20)]) {
      const key = sha256KeySync(text);
      expect(key).toHaveLength(16);
      // split(""), not Array.from: the key is UTF-16 code units, which may pair into surrogates.
      const hex = key
        .split("")
        .map((unit) => unit.charCodeAt(0).toString(16).padStart(4, "0"))
        .join("");
      expect(hex).toBe(await sha256Hex(text));
    }
  });

  it("gives the same digests on Bun, where the native SHA-256 answers", async () => {
    const inputs = ["", "abc", "é€😀", "x".repeat(342), "a".repeat(1000)];
    const script = `
      import { sha256HexSync } from ${JSON.stringify(join(import.meta.dirname, "../../src/core/auth/token-hash.ts"))};
      console.log(JSON.stringify({ native: typeof Bun.SHA256?.hash === "function", digests: ${JSON.stringify(inputs)}.map(sha256HexSync) }));`;
    const bun = join(import.meta.dirname, "../../node_modules/.bin/bun");
    const out = JSON.parse(execFileSync(bun, ["-e", script], { encoding: "utf8" }));
    expect(out.native).toBe(true);
    expect(out.digests).toEqual(await Promise.all(inputs.map(sha256Hex)));
  });
});
