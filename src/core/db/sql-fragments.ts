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
