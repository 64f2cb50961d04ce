export interface PasswordHash {
  salt: Uint8Array;
  hash: Uint8Array;
  iterations: number;
}

/**
 * PBKDF2-SHA256 like Keycloak's older default provider. The iteration count is Keycloak's old
 * default rather than today's 600 000: this server holds test and development users in memory,
 * and a login should not cost a test suite a second of CPU.
 */
const ITERATIONS = 27_500;
const encoder = new TextEncoder();

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const material = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: salt as BufferSource, iterations },
    material,
    256,
  );
  return new Uint8Array(bits);
}

export async function hashPassword(password: string): Promise<PasswordHash> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  return { salt, hash: await derive(password, salt, ITERATIONS), iterations: ITERATIONS };
}

/**
 * Always does the work of one hash, also when the user has no password or does not exist
 * (`stored` undefined), so that the answer time does not tell which usernames exist.
 */
export async function verifyPassword(
  password: string,
  stored: PasswordHash | null | undefined,
): Promise<boolean> {
  const salt = stored?.salt ?? new Uint8Array(16);
  const candidate = await derive(password, salt, stored?.iterations ?? ITERATIONS);
  if (!stored) return false;
  let diff = candidate.length ^ stored.hash.length;
  for (let i = 0; i < candidate.length; i++) diff |= (candidate[i] ?? 0) ^ (stored.hash[i] ?? 0);
  return diff === 0;
}

/** Compares secrets in time independent of where they first differ. */
export function secretsEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

const SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A client secret the way Keycloak generates them: 32 alphanumeric characters. */
export function generateClientSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  // `% 62` favours a few characters slightly; irrelevant for a development server's secrets.
  return Array.from(bytes, (b) => SECRET_ALPHABET[b % SECRET_ALPHABET.length]).join("");
}
