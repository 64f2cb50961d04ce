/** Field names whose values never reach a log line. */
const SECRET_KEY =
  /(authorization|cookie|password|passwd|secret|token|api[-_]?key|credential|encrypted|private[-_]?key|session)/i;

const REDACTED = "[REDACTED]";

/**
 * Guest tokens and bearer tokens inside free text (error messages, URLs) are masked too, also
 * as a query string encodes them (`:` as `%3A`, a space as `+` or `%20`).
 */
const SECRET_TEXT = [
  /guest_[0-9a-f]{32}(?::|%3A)[A-Za-z0-9_-]+/gi,
  /Bearer(?:\s|\+|%20)+[A-Za-z0-9._~+/=-]+/gi,
  /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g,
];
/** Every SECRET_TEXT match contains one of these: text without any is returned as it is. */
const MAYBE_SECRET_TEXT = /guest_|bearer|eyJ/i;

export function redactText(text: string): string {
  if (!MAYBE_SECRET_TEXT.test(text)) return text;
  let result = text;
  for (const pattern of SECRET_TEXT) result = result.replace(pattern, REDACTED);
  return result;
}

/** Log field names are few and fixed in code: their verdict is remembered (bounded). */
const secretKeyVerdicts = new Map<string, boolean>();

function isSecretKey(key: string): boolean {
  let secret = secretKeyVerdicts.get(key);
  if (secret === undefined) {
    // `session_id` and `request_id` identify, they do not authenticate: keep them readable.
    secret = SECRET_KEY.test(key) && !/_id$/i.test(key);
    if (secretKeyVerdicts.size < 1000) secretKeyVerdicts.set(key, secret);
  }
  return secret;
}

/** One field of a record as `redact` writes it: masked when its name is a secret's. */
export function redactField(key: string, value: unknown, depth = 0): unknown {
  return isSecretKey(key) ? REDACTED : redact(value, depth + 1);
}

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return "[DEPTH]";
  if (typeof value === "string") return redactText(value);
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (value instanceof Error) {
    return {
      name: value.name,
      message: redactText(value.message),
      stack: value.stack && redactText(value.stack),
    };
  }
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) out[key] = redactField(key, record[key], depth);
    return out;
  }
  return value;
}

/**
 * A query string that URLSearchParams would serialise unchanged: `name=value` pairs of
 * characters the form encoding leaves as they are.
 */
const PLAIN_QUERY = /^\?[\w.*-]+=[\w.*-]*(?:&[\w.*-]+=[\w.*-]*)*$/;

/** Query strings can carry secrets (`?token=`): mask values of secret-looking parameters. */
export function redactUrlSearch(search: string): string {
  if (!search) return "";
  if (PLAIN_QUERY.test(search)) {
    // The common case, answered without re-encoding: what the general path below would return.
    let plain = true;
    for (const pair of search.slice(1).split("&")) {
      if (isSecretKey(pair.slice(0, pair.indexOf("=")))) {
        plain = false;
        break;
      }
    }
    if (plain) return redactText(search);
  }
  const params = new URLSearchParams(search);
  for (const key of [...params.keys()]) {
    if (isSecretKey(key)) params.set(key, REDACTED);
  }
  return `?${redactText(params.toString())}`;
}
