/**
 * Which hosts a database connection may point at. A connection row makes this server open a TCP
 * connection with a password it decrypts: pointed at loopback, the cloud metadata service or a
 * private network, it becomes a way to reach what the caller cannot reach (SSRF). Unless
 * ALLOW_PRIVATE_DATABASE_HOSTS (on by default in development and test only), such hosts are
 * refused twice: here, when a row is written (literal addresses in every notation the resolver
 * accepts, and well-known names), and again at connect time on Bun for every address a DNS name
 * resolves to (src/core/db/guarded-socket.ts). Pure code: runs on Workers too.
 */

/** Why a host is refused, for the 400's message; undefined when the host is allowed. */
export type HostRefusal = string | undefined;

/** Names that reach this machine or a metadata service whatever DNS says. */
const FORBIDDEN_NAMES = new Set([
  "localhost",
  "localhost.localdomain",
  "ip6-localhost",
  "ip6-loopback",
  "metadata",
  "metadata.google.internal",
  "metadata.goog",
  "instance-data",
  "instance-data.ec2.internal",
]);

/** IPv4 blocks (network, prefix length, what it is). */
const FORBIDDEN_V4: [number, number, string][] = [
  [ipv4(0, 0, 0, 0), 8, "the unspecified network"],
  [ipv4(10, 0, 0, 0), 8, "a private network (10/8)"],
  [ipv4(100, 64, 0, 0), 10, "carrier-grade NAT (100.64/10)"],
  [ipv4(127, 0, 0, 0), 8, "loopback"],
  [ipv4(169, 254, 0, 0), 16, "link-local or a metadata service (169.254/16)"],
  [ipv4(172, 16, 0, 0), 12, "a private network (172.16/12)"],
  [ipv4(192, 0, 0, 0), 24, "IETF protocol assignments (192.0.0/24)"],
  [ipv4(192, 168, 0, 0), 16, "a private network (192.168/16)"],
  [ipv4(198, 18, 0, 0), 15, "benchmarking (198.18/15)"],
  [ipv4(224, 0, 0, 0), 4, "multicast"],
  [ipv4(240, 0, 0, 0), 4, "reserved or broadcast"],
];

function ipv4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/**
 * An IPv4 address in any form `inet_aton` (and so getaddrinfo) accepts: 1 to 4 parts, each
 * decimal, octal (`0177`) or hex (`0x7f`), the last part filling the remaining bytes
 * (`127.1`, `2130706433`). Undefined when the text is not such an address.
 */
export function parseIPv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length < 1 || parts.length > 4) return undefined;
  const values: number[] = [];
  for (const part of parts) {
    let value: number;
    if (/^0x[0-9a-f]*$/i.test(part)) value = part.length === 2 ? 0 : Number.parseInt(part, 16);
    else if (/^0[0-7]*$/.test(part)) value = Number.parseInt(part, 8);
    else if (/^[1-9][0-9]*$/.test(part)) value = Number.parseInt(part, 10);
    else return undefined;
    if (!Number.isSafeInteger(value)) return undefined;
    values.push(value);
  }
  const last = values.pop() as number;
  if (values.some((v) => v > 255) || last >= 2 ** (8 * (4 - values.length))) return undefined;
  let address = 0;
  for (const [i, v] of values.entries()) address += v * 2 ** (8 * (3 - i));
  return address + last;
}

/** An IPv6 address as 8 groups, or undefined (zone ids such as `%eth0` are stripped first). */
export function parseIPv6(text: string): number[] | undefined {
  const address = text.replace(/%.*$/, "");
  if (!/^[0-9a-f:.]+$/i.test(address) || !address.includes(":")) return undefined;
  const halves = address.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === "") return [];
    const out: number[] = [];
    const pieces = half.split(":");
    for (const [i, piece] of pieces.entries()) {
      if (i === pieces.length - 1 && piece.includes(".")) {
        // An embedded dotted IPv4 tail (`::ffff:127.0.0.1`): strictly four decimal parts.
        if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(piece)) return undefined;
        const [w = 0, x = 0, y = 0, z = 0] = piece.split(".").map(Number);
        if (Math.max(w, x, y, z) > 255) return undefined;
        out.push((w << 8) | x, (y << 8) | z);
      } else if (/^[0-9a-f]{1,4}$/i.test(piece)) out.push(Number.parseInt(piece, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0] ?? "");
  const tail = halves.length === 2 ? groups(halves[1] ?? "") : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return undefined;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

function refusedV4(address: number): HostRefusal {
  for (const [network, bits, what] of FORBIDDEN_V4) {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    if ((address & mask) >>> 0 === network) return what;
  }
  return undefined;
}

function refusedV6(g: number[]): HostRefusal {
  const [a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, h = 0, i = 0] = g;
  const embedded = (hi: number, lo: number) => refusedV4(((hi << 16) | lo) >>> 0);
  if (g.every((x) => x === 0)) return "the unspecified address";
  if (a === 0 && b === 0 && c === 0 && d === 0 && e === 0 && f === 0 && h === 0 && i === 1)
    return "loopback";
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses reach the IPv4 host.
  if (a === 0 && b === 0 && c === 0 && d === 0 && e === 0 && (f === 0xffff || f === 0))
    return embedded(h, i) && `${embedded(h, i)} (IPv4 inside IPv6)`;
  // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address too.
  if (a === 0x64 && b === 0xff9b && c === 0 && d === 0 && e === 0 && f === 0)
    return embedded(h, i) && `${embedded(h, i)} (through NAT64)`;
  if (a === 0x2002) return embedded(b, c) && `${embedded(b, c)} (through 6to4)`;
  if ((a & 0xfe00) === 0xfc00) return "a unique local network (fc00::/7, e.g. fd00:ec2::254)";
  if ((a & 0xffc0) === 0xfe80) return "link-local (fe80::/10)";
  if ((a & 0xffc0) === 0xfec0) return "site-local (fec0::/10)";
  if ((a & 0xff00) === 0xff00) return "multicast";
  return undefined;
}

/** Whether a resolved address (as DNS or the socket reports it) may be connected to. */
export function refusedAddress(address: string): HostRefusal {
  const v4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(address) ? parseIPv4(address) : undefined;
  if (v4 !== undefined) return refusedV4(v4);
  const v6 = parseIPv6(address);
  if (v6) return refusedV6(v6);
  return "not an IP address";
}

/** The host as it is stored and connected to: lowercase, no brackets, no trailing dot. */
export function normalizeHost(host: string): string {
  const trimmed = host.trim().toLowerCase();
  const unbracketed = /^\[.*\]$/.test(trimmed) ? trimmed.slice(1, -1) : trimmed;
  return unbracketed.endsWith(".") ? unbracketed.slice(0, -1) : unbracketed;
}

const HOSTNAME =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** Whether the text is a host name or an IP literal at all (else a 400 whatever the policy). */
export function isHostSyntax(host: string): boolean {
  const h = normalizeHost(host);
  return HOSTNAME.test(h) || parseIPv6(h) !== undefined;
}

/**
 * Checks a host as written in a connection row: IP literals in every notation, well-known names
 * (`localhost`, `*.localhost`, metadata services). DNS names are not resolved here; Bun checks
 * what they resolve to on every connect.
 */
export function refusedHost(host: string): HostRefusal {
  const h = normalizeHost(host);
  if (FORBIDDEN_NAMES.has(h) || h.endsWith(".localhost")) return "a local or metadata host name";
  const v4 = parseIPv4(h);
  if (v4 !== undefined) return refusedV4(v4);
  const v6 = parseIPv6(h);
  if (v6) return refusedV6(v6);
  return undefined;
}
