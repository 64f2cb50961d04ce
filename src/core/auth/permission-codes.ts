/**
 * Permission codes are `resource:action` (`users:read`, `tenant.users:write`). A grant of
 * `resource:*` covers every action of exactly that resource: `users:*` grants `users:list` but
 * not `usersx:read` and not `tenant.users:read`. Nothing broader exists (no `*` or `*:*`).
 */
const CODE = /^[a-z][a-z0-9_.]*:([a-z][a-z0-9_]*|\*)$/;

export function isPermissionCode(code: string): boolean {
  return CODE.test(code);
}

export function splitCode(code: string): { resource: string; action: string } {
  const at = code.lastIndexOf(":");
  return { resource: code.slice(0, at), action: code.slice(at + 1) };
}

/** Does one granted code cover the required one? */
export function grants(granted: string, required: string): boolean {
  if (granted === required) return true;
  if (!granted.endsWith(":*")) return false;
  return splitCode(granted).resource === splitCode(required).resource;
}

/** Does any of the granted codes cover the required one? */
export function anyGrants(granted: Iterable<string>, required: string): boolean {
  for (const code of granted) if (grants(code, required)) return true;
  return false;
}
