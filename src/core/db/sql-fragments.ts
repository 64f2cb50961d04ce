import type { ISql, PendingQuery, Row } from "postgres";

/** A LIKE pattern matching `value` anywhere, with LIKE's own wildcards escaped. */
export function likeTerm(value: string): string {
  return `%${value.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** `a and b and c` from fragments; `true` when there are none. */
export function allOf(sql: ISql, conditions: PendingQuery<Row[]>[]): PendingQuery<Row[]> {
  if (conditions.length === 0) return sql`true`;
  return conditions.reduce((a, b) => sql`${a} and ${b}`);
}

/** The Postgres error code of a unique violation, and the constraint it names. */
export function uniqueViolation(error: unknown): string | undefined {
  const e = error as { code?: string; constraint_name?: string };
  return e?.code === "23505" ? (e.constraint_name ?? "") : undefined;
}

/** A foreign-key violation (23503), and the constraint it names. */
export function foreignKeyViolation(error: unknown): string | undefined {
  const e = error as { code?: string; constraint_name?: string };
  return e?.code === "23503" ? (e.constraint_name ?? "") : undefined;
}

/** A CHECK violation (23514), and the constraint it names. */
export function checkViolation(error: unknown): string | undefined {
  const e = error as { code?: string; constraint_name?: string };
  return e?.code === "23514" ? (e.constraint_name ?? "") : undefined;
}

/** The entries of a patch that were sent (`undefined` means "leave as is"), for `sql(values)`. */
function definedValues<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(patch).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}

/**
 * `insert into <table> (<the fields sent>)`, answering the new row as `columns` read it through
 * `alias` (the API's columns, casts included) rather than `returning *`.
 */
export function insertRow<T extends object>(
  sql: ISql,
  target: { table: string; alias: string; columns: PendingQuery<Row[]> },
  values: object,
) {
  return sql<T[]>`
    with inserted as (insert into ${sql(target.table)} ${sql(definedValues(values))} returning *)
    select ${target.columns} from inserted ${sql(target.alias)}`;
}

/** `update <table> set <the fields sent> where id = …`, answering the row like {@link insertRow}. */
export function updateRow<T extends object>(
  sql: ISql,
  target: { table: string; alias: string; columns: PendingQuery<Row[]> },
  id: string,
  patch: object,
) {
  return sql<T[]>`
    with updated as (
      update ${sql(target.table)} set ${sql(definedValues(patch))} where id = ${id} returning *
    )
    select ${target.columns} from updated ${sql(target.alias)}`;
}

/** `column direction, tieBreaker direction`: a unique last key, so pages never overlap. */
export function orderWithTieBreaker(
  sql: ISql,
  column: PendingQuery<Row[]>,
  order: "asc" | "desc",
  tieBreaker: PendingQuery<Row[]>,
): PendingQuery<Row[]> {
  const direction = order === "asc" ? sql`asc` : sql`desc`;
  return sql`${column} ${direction}, ${tieBreaker} ${direction}`;
}

/**
 * One page of a list and the total: `select count(*) <from>`, then (only when the page can hold
 * rows) `select <columns> <from> order by <order> limit … offset …`. `from` carries the FROM and
 * WHERE clauses both queries share.
 */
export async function pageOf<T>(
  sql: ISql,
  query: {
    columns: PendingQuery<Row[]>;
    from: PendingQuery<Row[]>;
    order: PendingQuery<Row[]>;
    limit: number;
    offset: number;
  },
): Promise<{ rows: T[]; total: number }> {
  const [{ total } = { total: 0 }] = await sql<{ total: number }[]>`
    select count(*)::int as total ${query.from}`;
  if (total <= query.offset) return { rows: [], total };
  const rows = await sql`
    select ${query.columns} ${query.from}
    order by ${query.order} limit ${query.limit} offset ${query.offset}`;
  return { rows: [...rows] as T[], total };
}
