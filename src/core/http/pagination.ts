import { z } from "@hono/zod-openapi";

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

/** `page` and `page_size` query parameters; above the maximum is a 400 naming the field. */
export const PaginationQuery = z.object({
  page: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(1)
    .openapi({
      param: { name: "page", in: "query" },
      example: 1,
      description: "Page number, from 1. A page past the end is empty, with the totals.",
    }),
  page_size: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE_SIZE)
    .default(DEFAULT_PAGE_SIZE)
    .openapi({
      param: { name: "page_size", in: "query" },
      example: DEFAULT_PAGE_SIZE,
      description: `Items per page, 1 to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE}); more is a 400 naming this field.`,
    }),
});

export const PaginationSchema = z
  .object({
    page: z.number().int(),
    page_size: z.number().int(),
    total_pages: z.number().int(),
    total_items: z.number().int(),
    has_next: z.boolean(),
    has_previous: z.boolean(),
  })
  .openapi("Pagination");

export type Pagination = z.infer<typeof PaginationSchema>;

export function paginated<T extends z.ZodTypeAny>(item: T) {
  return z.object({ items: z.array(item), pagination: PaginationSchema });
}

export function pagination(page: number, pageSize: number, totalItems: number): Pagination {
  const totalPages = Math.ceil(totalItems / pageSize);
  return {
    page,
    page_size: pageSize,
    total_pages: totalPages,
    total_items: totalItems,
    has_next: page < totalPages,
    has_previous: page > 1,
  };
}

/** What a page-based list query asks for. */
export interface PageQuery<S extends string> {
  page: number;
  page_size: number;
  sort: S;
  order?: "asc" | "desc" | undefined;
}

/** The SQL side of a list query: the sort with its direction (natural unless asked), and the window. */
export function listWindow<S extends string>(
  query: PageQuery<S>,
  sorts: Record<S, "asc" | "desc">,
) {
  return {
    sort: query.sort,
    order: query.order ?? sorts[query.sort],
    limit: query.page_size,
    offset: (query.page - 1) * query.page_size,
  };
}

/** The `data` of a list answer: the page's items and where the page stands. */
export function pageOfItems<T>(query: PageQuery<string>, items: T[], total: number) {
  return { items, pagination: pagination(query.page, query.page_size, total) };
}
