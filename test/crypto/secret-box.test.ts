import { describe, expect, it } from "vitest";
import {
  createSecretBox,
  generateEncryptionKey,
  SecretBoxError,
} from "../../src/core/crypto/secret-box";

const CONTEXT = "database_connections:0193a1f2-7c1e-7b3a-9a5e-2f1c4d5e6f70:password";

describe("secret box (AES-256-GCM)", () => {
  const k1 = generateEncryptionKey("k1");
  const k2 = generateEncryptionKey("k2");

  it("seals to a versioned value naming its key, and opens it again", async () => {
    const box = createSecretBox([k1]);
    const sealed = await box.seal("s3cret-pässword", CONTEXT);
    expect(sealed).toMatch(/^v1:k1:[A-Za-z0-9+/]{16}:[A-Za-z0-9+/]+={0,2}$/);
    expect(sealed).not.toContain("s3cret");
    expect(await box.open(sealed, CONTEXT)).toBe("s3cret-pässword");
  });

  it("uses a fresh IV for every seal", async () => {
    const box = createSecretBox([k1]);
    const a = await box.seal("same", CONTEXT);
    const b = await box.seal("same", CONTEXT);
    expect(a).not.toBe(b);
  });

  it("refuses a value moved to another context (another row)", async () => {
    const box = createSecretBox([k1]);
    const sealed = await box.seal("pw", CONTEXT);
    await expect(box.open(sealed, "database_connections:other:password")).rejects.toBeInstanceOf(
      SecretBoxError,
    );
  });

  it("refuses a tampered ciphertext", async () => {
    const box = createSecretBox([k1]);
    const sealed = await box.seal("pw", CONTEXT);
    const [head, ciphertext] = [
      sealed.slice(0, sealed.lastIndexOf(":") + 1),
      sealed.split(":")[3] ?? "",
    ];
    const flipped = `${ciphertext[0] === "A" ? "B" : "A"}${ciphertext.slice(1)}`;
    await expect(box.open(`${head}${flipped}`, CONTEXT)).rejects.toBeInstanceOf(SecretBoxError);
  });

  it("rotates: a new first key seals, the old one still opens, needsRotation tells them apart", async () => {
    const old = createSecretBox([k1]);
    const sealedOld = await old.seal("pw", CONTEXT);
    const rotated = createSecretBox([k2, k1]);
    expect(await rotated.open(sealedOld, CONTEXT)).toBe("pw");
    expect(rotated.needsRotation(sealedOld)).toBe(true);
    const sealedNew = await rotated.seal("pw", CONTEXT);
    expect(sealedNew.startsWith("v1:k2:")).toBe(true);
    expect(rotated.needsRotation(sealedNew)).toBe(false);
  });

  it("refuses an unknown key id and a malformed value", async () => {
    const sealed = await createSecretBox([k2]).seal("pw", CONTEXT);
    await expect(createSecretBox([k1]).open(sealed, CONTEXT)).rejects.toThrow(/Unknown/);
    await expect(createSecretBox([k1]).open("plaintext", CONTEXT)).rejects.toThrow(/format/);
    expect(() => createSecretBox([])).toThrow(SecretBoxError);
  });
});
