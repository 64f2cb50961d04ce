import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type EncryptionKey, generateEncryptionKey } from "../core/crypto/secret-box";

/** The file under DATA_DIR that keeps the generated development key. */
export const LOCAL_KEY_FILE = "encryption-key";
const LOCAL_KEY_ID = "local";

function parse(text: string, path: string): EncryptionKey[] {
  const [id, key] = text.trim().split(":") as [string, string | undefined];
  let bytes = 0;
  try {
    bytes = key ? atob(key).length : 0;
  } catch {}
  if (!/^[A-Za-z0-9_-]{1,16}$/.test(id) || bytes !== 32) {
    // Never replaced: whatever was sealed with it would be lost.
    throw new Error(`${path} is not a key (<id>:<base64 of 32 bytes>); fix or remove it`);
  }
  return [{ id, key: key as string }];
}

/**
 * Bun without APP_ENCRYPTION_KEY, in development and test only: a key generated once and kept in
 * `${DATA_DIR}/encryption-key` (mode 0600), so the embedded data (sealed database passwords)
 * still opens after a restart. Production refuses to start without APP_ENCRYPTION_KEY.
 */
export async function localEncryptionKeys(dataDir: string): Promise<EncryptionKey[]> {
  const path = join(dataDir, LOCAL_KEY_FILE);
  await mkdir(dataDir, { recursive: true });
  try {
    const generated = generateEncryptionKey(LOCAL_KEY_ID);
    // `wx`: two processes starting together cannot both write one.
    await writeFile(path, `${generated.id}:${generated.key}\n`, { mode: 0o600, flag: "wx" });
    return [generated];
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  await chmod(path, 0o600);
  return parse(await readFile(path, "utf8"), path);
}
