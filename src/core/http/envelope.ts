import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ErrorDetail } from "./errors";

/**
 * The one response envelope, produced by every path (handlers, validation, not found, 405,
 * auth, 429, 500): `{ success, data, message, errors, metadata: { timestamp, request_id } }`.
 */
export interface Metadata {
  timestamp: string;
  request_id: string;
}

export interface SuccessEnvelope<T> {
  success: true;
  data: T;
  message: string | null;
  errors: null;
  metadata: Metadata;
}

export interface ErrorEnvelope {
  success: false;
  data: null;
  message: string;
  errors: ErrorDetail[];
  metadata: Metadata;
}

export function metadataOf(c: Context): Metadata {
  return { timestamp: new Date().toISOString(), request_id: c.get("requestId") ?? "unknown" };
}

export function successBody<T>(
  c: Context,
  data: T,
  message: string | null = null,
): SuccessEnvelope<T> {
  return { success: true, data, message, errors: null, metadata: metadataOf(c) };
}

export function errorBody(c: Context, message: string, errors: ErrorDetail[]): ErrorEnvelope {
  return { success: false, data: null, message, errors, metadata: metadataOf(c) };
}

/** Serialises an envelope response. Typed loosely on purpose: routes declare their own schemas. */
export function respond<T, S extends ContentfulStatusCode = 200>(
  c: Context,
  data: T,
  options: { status?: S; message?: string | null } = {},
) {
  return c.json(successBody(c, data, options.message ?? null), (options.status ?? 200) as S);
}
