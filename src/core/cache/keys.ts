/**
 * Typed key builders. A key is a branded string: only these builders mint one, so a platform key
 * cannot be built from tenant data (or the other way round) by string concatenation elsewhere.
 * Namespaces: `platform:*`, `tenant:{id}:*`, `guest:*`, `ref:*`.
 */
declare const brand: unique symbol;
export type CacheKey = string & { readonly [brand]: "CacheKey" };

const SEGMENT = /^[A-Za-z0-9_.-]+$/;

function segment(value: string | number): string {
  const text = String(value);
  if (!SEGMENT.test(text)) throw new Error(`invalid cache key segment: ${JSON.stringify(text)}`);
  return text;
}

function key(...parts: (string | number)[]): CacheKey {
  return parts.map(segment).join(":") as CacheKey;
}

export const keys = {
  platform: (...parts: (string | number)[]) => key("platform", ...parts),
  tenant: (tenantId: string, ...parts: (string | number)[]) => key("tenant", tenantId, ...parts),
  guest: (...parts: (string | number)[]) => key("guest", ...parts),
  ref: (...parts: (string | number)[]) => key("ref", ...parts),
};
