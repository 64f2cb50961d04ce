import type { Context } from "hono";
import type { ISql } from "postgres";
import type { AppEnv } from "../deps";
import { ApiError } from "../http/errors";

/**
 * Audit entries: every mutation writes one in the same transaction as the change (so there is
 * never a change without its entry, or an entry for a change that rolled back). Before/after
 * images go through {@link withoutSecrets}: a password or token never reaches the audit table.
 */
export interface AuditActor {
  type: "user" | "system" | "api" | "service";
  id: string | null;
  username: string | null;
}

/** Who and why, from the request: recorded with every entry the request writes. */
export interface AuditContext {
  actor: AuditActor;
  /** The request that made the change; null for the service's own work (systemAuditContext). */
  requestId: string | null;
  ip: string | null;
  reason: string | null;
}

export interface AuditEntry {
  action: string;
  resourceType: string;
  resourceId: string | null;
  tenantId?: string | null;
  organizationId?: string | null;
  before?: unknown;
  after?: unknown;
}

export const AUDIT_REASON_HEADER = "X-Audit-Reason";
const MAX_REASON_LENGTH = 500;
/** Printable text on one line: the reason ends up in exports and log viewers. */
const REASON_PATTERN = /^[^\p{Cc}]*$/u;

const SECRET_KEY = /password|secret|token|credential|private_key|api_key/i;
export const REDACTED = "[redacted]";

/** Whether a field or key name looks like it holds a secret (and is redacted from images). */
export function looksSecret(name: string): boolean {
  return SECRET_KEY.test(name);
}

/** A deep copy with every secret-looking field replaced (its presence stays visible). */
export function withoutSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) {
      out[key] = looksSecret(key) ? (field == null ? field : REDACTED) : withoutSecrets(field);
    }
    return out;
  }
  return value;
}

/** The audit context of a request handled by a protected route (a signed-in platform user). */
export function auditContextOf(c: Context<AppEnv>): AuditContext {
  const principal = c.get("principal");
  const reason = c.req.header(AUDIT_REASON_HEADER)?.trim() || null;
  if (reason && (reason.length > MAX_REASON_LENGTH || !REASON_PATTERN.test(reason))) {
    throw ApiError.badRequest(
      `${AUDIT_REASON_HEADER} must be one line of at most ${MAX_REASON_LENGTH} characters`,
      AUDIT_REASON_HEADER,
      "header",
    );
  }
  return {
    actor: principal
      ? { type: "user", id: principal.id, username: principal.username }
      : { type: "system", id: null, username: null },
    requestId: c.get("requestId"),
    ip: c.get("clientIp")(),
    reason,
  };
}

/** The audit context of work the service does on its own, not for a request (e.g. at start). */
export function systemAuditContext(reason: string): AuditContext {
  return { actor: { type: "system", id: null, username: null }, requestId: null, ip: null, reason };
}

/** Writes one entry; call it with the transaction that makes the change. */
export async function recordAudit(
  tx: ISql,
  context: AuditContext,
  entry: AuditEntry,
): Promise<void> {
  const before = entry.before === undefined ? null : withoutSecrets(entry.before);
  const after = entry.after === undefined ? null : withoutSecrets(entry.after);
  await tx`
    insert into admin.audit_log
      (actor_type, actor_id, actor_username, tenant_id, organization_id, action, resource_type,
       resource_id, before, after, reason, request_id, ip)
    values
      (${context.actor.type}, ${context.actor.id}, ${context.actor.username},
       ${entry.tenantId ?? null}, ${entry.organizationId ?? null}, ${entry.action},
       ${entry.resourceType}, ${entry.resourceId},
       ${before === null ? null : tx.json(before as never)},
       ${after === null ? null : tx.json(after as never)},
       ${context.reason}, ${context.requestId}, ${context.ip})`;
}
