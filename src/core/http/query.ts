import { z } from "@hono/zod-openapi";

/**
 * Query-string building blocks shared by every list route, so filters read and document the
 * same way everywhere.
 */

/** `true` / `false` in a query string (`z.coerce.boolean()` would read "false" as true). */
export function queryBoolean(name: string, description?: string) {
  return z
    .enum(["true", "false"])
    .transform((v) => v === "true")
    .optional()
    .openapi({
      param: { name, in: "query" },
      type: "boolean",
      ...(description ? { description } : {}),
    });
}

/** Free-text `search`: trimmed, 1..100 characters. */
export function querySearch(description: string) {
  return z
    .string()
    .trim()
    .min(1)
    .max(100)
    .optional()
    .openapi({ param: { name: "search", in: "query" }, description });
}

/**
 * `sort` from an allow-list of fields (each with its natural direction) and `order`. Anything
 * else is a 400 naming the field: sort fields never reach SQL as text.
 */
export function querySort<const F extends Record<string, "asc" | "desc">>(
  fields: F,
  fallback: keyof F & string,
) {
  const names = Object.keys(fields) as [keyof F & string, ...(keyof F & string)[]];
  return {
    sort: z
      .enum(names)
      .default(fallback as never)
      .openapi({
        param: { name: "sort", in: "query" },
        description: `Sort field (default \`${fallback}\`). Without \`order\`: ${names
          .map((n) => `\`${n}\` ${fields[n]}`)
          .join(", ")}.`,
      }),
    order: z
      .enum(["asc", "desc"])
      .optional()
      .openapi({
        param: { name: "order", in: "query" },
        description: "`asc` or `desc`, overriding the sort field's own direction.",
      }),
  };
}

/** A comma-separated list in one query parameter (`has_role=a,b`), each item checked. */
export function queryCsv<T extends z.ZodType<unknown, string>>(
  name: string,
  item: T,
  description: string,
) {
  return z
    .string()
    .transform((value) =>
      value
        .split(",")
        .map((part) => part.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item).min(1).max(50))
    .optional()
    .openapi({ param: { name, in: "query" }, type: "string", description });
}
