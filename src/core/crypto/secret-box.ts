/**
 * Secrets at rest (database passwords), sealed with AES-256-GCM through WebCrypto so the same
 * code runs on Bun, Node and workerd. A sealed value reads `v1:<key id>:<iv>:<ciphertext+tag>`
 * (standard base64, the shape the database_connections CHECK accepts): the key id travels with the ciphertext, so keys rotate by adding a new first key
 * to APP_ENCRYPTION_KEY and keeping the old ones until every value is re-sealed.
 *
 * Every value is bound to where it is stored (`context`, used as GCM additional data, e.g.
 * `database_connections:<id>:password`): a ciphertext copied into another row does not open.
 */

export interface EncryptionKey {
  id: string;
  /** Base64 of 32 bytes. */
  key: string;
}

export class SecretBoxError extends Error {
  override readonly name = "SecretBoxError";
}

const VERSION = "v1";
const IV_BYTES = 12;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export interface SecretBox {
  /** The id of the key new values are sealed with. */
  readonly currentKeyId: string;
  seal(plaintext: string, context: string): Promise<string>;
  /** Throws SecretBoxError for an unknown key, a wrong context or a tampered value. */
  open(sealed: string, context: string): Promise<string>;
  /** Whether a sealed value uses an older key (to re-seal it). */
  needsRotation(sealed: string): boolean;
}

export function createSecretBox(keys: readonly EncryptionKey[]): SecretBox {
  const [current] = keys;
  if (!current) throw new SecretBoxError("At least one encryption key is required");
  const imported = new Map<string, Promise<CryptoKey>>();
  const keyFor = (id: string): Promise<CryptoKey> => {
    let key = imported.get(id);
    if (!key) {
      const entry = keys.find((k) => k.id === id);
      if (!entry) throw new SecretBoxError(`Unknown encryption key id ${id}`);
      const raw = fromBase64(entry.key);
      if (raw.length !== 32) throw new SecretBoxError(`Encryption key ${id} is not 32 bytes`);
      key = crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
      imported.set(id, key);
    }
    return key;
  };

  return {
    currentKeyId: current.id,
    async seal(plaintext, context) {
      const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
      const ciphertext = await crypto.subtle.encrypt(
        { name: "AES-GCM", iv, additionalData: encoder.encode(context) },
        await keyFor(current.id),
        encoder.encode(plaintext),
      );
      return `${VERSION}:${current.id}:${toBase64(iv)}:${toBase64(new Uint8Array(ciphertext))}`;
    },
    async open(sealed, context) {
      const parts = sealed.split(":");
      if (parts.length !== 4 || parts[0] !== VERSION) {
        throw new SecretBoxError("Not a sealed value of this format");
      }
      const [, id, iv, ciphertext] = parts as [string, string, string, string];
      try {
        const plaintext = await crypto.subtle.decrypt(
          { name: "AES-GCM", iv: fromBase64(iv), additionalData: encoder.encode(context) },
          await keyFor(id),
          fromBase64(ciphertext),
        );
        return decoder.decode(plaintext);
      } catch (error) {
        if (error instanceof SecretBoxError) throw error;
        throw new SecretBoxError("The sealed value does not open with its key and context", {
          cause: error,
        });
      }
    },
    needsRotation(sealed) {
      return sealed.split(":")[1] !== current.id;
    },
  };
}

/** A fresh key ring entry, e.g. for `APP_ENCRYPTION_KEY` or the embedded default. */
export function generateEncryptionKey(id: string): EncryptionKey {
  return { id, key: btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))) };
}
