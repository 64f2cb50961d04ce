/** Field names whose values never reach a log line. */
const SECRET_KEY =
  /(authorization|cookie|password|passwd|secret|token|api[-_]?key|credential|encrypted|private[-_]?key|session)/i;

const REDACTED = "[REDACTED]";

/** Guest tokens and bearer tokens inside free text (error messages, URLs) are masked too. */
const SECRET_TEXT = [
  /guest_[0-9a-f]{32}:[A-Za-z0-9_-]+/g,
  /Bearer\s+[A-Za-z0-9._~+/=-]+/gi,
  /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g,
];

export function redactText(text: string): string {
  let result = text;
  for (const pattern of SECRET_TEXT) result = result.replace(pattern, REDACTED);
  return result;
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
    for (const [key, inner] of Object.entries(value)) {
      // `session_id` and `request_id` identify, they do not authenticate: keep them readable.
      out[key] = SECRET_KEY.test(key) && !/_id$/i.test(key) ? REDACTED : redact(inner, depth + 1);
    }
    return out;
  }
  return value;
}

/** Query strings can carry secrets (`?token=`): mask values of secret-looking parameters. */
export function redactUrlSearch(search: string): string {
  if (!search) return "";
  const params = new URLSearchParams(search);
  for (const key of [...params.keys()]) {
    if (SECRET_KEY.test(key) && !/_id$/i.test(key)) params.set(key, REDACTED);
  }
  return `?${redactText(params.toString())}`;
}
