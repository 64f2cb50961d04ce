import { z } from "@hono/zod-openapi";
import { ApiError } from "./errors";
import { PaginationQuery } from "./pagination";

/**
 * Cursor (keyset) pagination for large, append-mostly lists (audit, users): the next page starts
 * after the last row's sort key instead of skipping OFFSET rows, so deep pages cost what the
 * first one does and rows inserted meanwhile never shift a page.
 *
 * A cursor is opaque to clients: base64url of the JSON array of the last row's sort key. It is
 * validated on the way back in (a tampered or foreign cursor is a 400 naming `cursor`); it grants
 * nothing, since it only says where to resume a query the caller may run anyway.
 */
export type CursorKey = readonly (string | number)[];

export function encodeCursor(key: CursorKey): string {
  const bytes = new TextEncoder().encode(JSON.stringify(key));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Decodes a cursor against the key's shape; 400 naming `cursor` for anything else. */
export function decodeCursor<T extends z.ZodType<CursorKey>>(
  cursor: string,
  shape: T,
): z.output<T> {
  try {
    const binary = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
    const parsed = shape.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    if (parsed.success) return parsed.data;
  } catch {}
  throw ApiError.badRequest("The cursor is not one this list issued", "cursor", "query");
}

export const CursorQuery = z.object({
  cursor: z
    .string()
    .min(1)
    .max(512)
    .optional()
    .openapi({
      param: { name: "cursor", in: "query" },
      description: "`next_cursor` of the previous page; omit for the first page.",
    }),
  // The same parameter as page-based lists: one definition, one description.
  page_size: PaginationQuery.shape.page_size,
});

export const CursorPaginationSchema = z
  .object({
    page_size: z.number().int(),
    has_next: z.boolean(),
    next_cursor: z
      .string()
      .nullable()
      .openapi({ description: "Send as `cursor` for the next page; null on the last page." }),
  })
  .openapi("CursorPagination");

export function cursorPaginated<T extends z.ZodTypeAny>(item: T) {
  return z.object({ items: z.array(item), pagination: CursorPaginationSchema });
}

/**
 * Builds a cursor page from `pageSize + 1` fetched rows: the extra row only says whether there
 * is a next page.
 */
export function cursorPage<R, I>(
  rows: readonly R[],
  pageSize: number,
  keyOf: (row: R) => CursorKey,
  present: (row: R) => I,
) {
  const hasNext = rows.length > pageSize;
  const page = hasNext ? rows.slice(0, pageSize) : rows;
  const last = page.at(-1);
  return {
    items: page.map(present),
    pagination: {
      page_size: pageSize,
      has_next: hasNext,
      next_cursor: hasNext && last !== undefined ? encodeCursor(keyOf(last)) : null,
    },
  };
}
