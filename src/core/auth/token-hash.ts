/**
 * Synchronous SHA-256 (FIPS 180-4) for the verified-token cache key.
 *
 * Why not `crypto.subtle.digest`: it is asynchronous on every runtime and costs 15-50 µs per call
 * on Node and Bun (a thread-pool hop), ten times the budget of a cached verification (≤ 5 µs).
 * On Bun (the server runtime) the native `Bun.SHA256` does it in under a microsecond; elsewhere
 * (workerd, Node) the portable implementation below takes a few. Both give the standard digest
 * (tested against WebCrypto, and against each other in a Bun process).
 */
interface NativeSha256 {
  hash(input: string, encoding: "hex"): string;
}
const native = (globalThis as { Bun?: { SHA256?: NativeSha256 } }).Bun?.SHA256;
const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const W = new Int32Array(64);
/** The running digest state of the current call. */
const H = new Int32Array(8);
const INITIAL = Int32Array.from([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const encoder = new TextEncoder();
// Reused between calls: the functions never yield, so no two calls can interleave on them.
let bytes = new Uint8Array(256);

/** SHA-256 of the UTF-8 bytes of `text`, as 64 lowercase hex digits. */
export function sha256HexSync(text: string): string {
  if (native) return native.hash(text, "hex");
  digest(text);
  let out = "";
  for (let i = 0; i < 8; i++) {
    const word = H[i] as number;
    out +=
      (HEX[(word >>> 24) & 0xff] as string) +
      (HEX[(word >>> 16) & 0xff] as string) +
      (HEX[(word >>> 8) & 0xff] as string) +
      (HEX[word & 0xff] as string);
  }
  return out;
}

/**
 * The digest as a key of in-process maps. Portable: 16 UTF-16 code units (16 bits each), a
 * quarter of the hex form, cheaper to build, hash and compare. On Bun: the native hex digest.
 * Never for storage or logs (its form depends on the runtime).
 */
export function sha256KeySync(text: string): string {
  if (native) return native.hash(text, "hex");
  digest(text);
  let out = "";
  for (let i = 0; i < 8; i++) {
    const word = H[i] as number;
    out += String.fromCharCode(word >>> 16, word & 0xffff);
  }
  return out;
}

/** Leaves the digest of `text` in `H`. */
function digest(text: string): void {
  H.set(INITIAL);
  const length = text.length;
  const fullBlocks = length >> 6;
  // ASCII (every token) is read straight from the string, four characters to a word, and only
  // the tail is copied for padding. Anything else is hashed from its UTF-8 encoding.
  let high = 0;
  for (let block = 0; block < fullBlocks; block++) {
    const base = block << 6;
    for (let i = 0; i < 16; i++) {
      const j = base + (i << 2);
      const c0 = text.charCodeAt(j);
      const c1 = text.charCodeAt(j + 1);
      const c2 = text.charCodeAt(j + 2);
      const c3 = text.charCodeAt(j + 3);
      high |= c0 | c1 | c2 | c3;
      W[i] = (c0 << 24) | (c1 << 16) | (c2 << 8) | c3;
    }
    if (high > 0x7f) {
      hashBytes(encoder.encode(text));
      return;
    }
    compress();
  }
  const tail = length - (fullBlocks << 6);
  ensureRoom(tail);
  for (let i = 0; i < tail; i++) {
    const code = text.charCodeAt((fullBlocks << 6) + i);
    high |= code;
    bytes[i] = code;
  }
  if (high > 0x7f) {
    hashBytes(encoder.encode(text));
    return;
  }
  finish(tail, length);
}

/** Hashes a whole byte string (the non-ASCII path). */
function hashBytes(input: Uint8Array): void {
  H.set(INITIAL);
  const fullBlocks = input.length >> 6;
  for (let block = 0; block < fullBlocks; block++) loadWords(input, block << 6);
  const tail = input.length - (fullBlocks << 6);
  ensureRoom(tail);
  bytes.set(input.subarray(fullBlocks << 6));
  finish(tail, input.length);
}

/** Pads the `tail` bytes waiting in `bytes` (FIPS 180-4 5.1.1) and compresses them. */
function finish(tail: number, length: number): void {
  const padded = tail + 9 > 64 ? 128 : 64;
  bytes[tail] = 0x80;
  bytes.fill(0, tail + 1, padded - 8);
  const bitsHigh = Math.floor(length / 0x20000000);
  const bitsLow = (length << 3) >>> 0;
  bytes[padded - 8] = bitsHigh >>> 24;
  bytes[padded - 7] = (bitsHigh >>> 16) & 0xff;
  bytes[padded - 6] = (bitsHigh >>> 8) & 0xff;
  bytes[padded - 5] = bitsHigh & 0xff;
  bytes[padded - 4] = bitsLow >>> 24;
  bytes[padded - 3] = (bitsLow >>> 16) & 0xff;
  bytes[padded - 2] = (bitsLow >>> 8) & 0xff;
  bytes[padded - 1] = bitsLow & 0xff;
  for (let offset = 0; offset < padded; offset += 64) loadWords(bytes, offset);
}

function ensureRoom(tail: number): void {
  if (bytes.length < tail + 72) bytes = new Uint8Array(tail + 72);
}

function loadWords(source: Uint8Array, offset: number): void {
  for (let i = 0; i < 16; i++) {
    const j = offset + (i << 2);
    W[i] =
      ((source[j] as number) << 24) |
      ((source[j + 1] as number) << 16) |
      ((source[j + 2] as number) << 8) |
      (source[j + 3] as number);
  }
  compress();
}

/** One block: message schedule from W[0..15], then the 64 rounds into H. */
function compress(): void {
  for (let i = 16; i < 64; i++) {
    const w15 = W[i - 15] as number;
    const w2 = W[i - 2] as number;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[i] = ((W[i - 16] as number) + s0 + (W[i - 7] as number) + s1) | 0;
  }
  let a = H[0] as number;
  let b = H[1] as number;
  let c = H[2] as number;
  let d = H[3] as number;
  let e = H[4] as number;
  let f = H[5] as number;
  let g = H[6] as number;
  let h = H[7] as number;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + S1 + ch + (K[i] as number) + (W[i] as number)) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  H[0] = ((H[0] as number) + a) | 0;
  H[1] = ((H[1] as number) + b) | 0;
  H[2] = ((H[2] as number) + c) | 0;
  H[3] = ((H[3] as number) + d) | 0;
  H[4] = ((H[4] as number) + e) | 0;
  H[5] = ((H[5] as number) + f) | 0;
  H[6] = ((H[6] as number) + g) | 0;
  H[7] = ((H[7] as number) + h) | 0;
}
