import type { Context } from "hono";
import type { ZodError } from "zod";
import { errorBody } from "./envelope";
import type { ErrorDetail } from "./errors";

const locationOf: Record<string, string> = {
  query: "query",
  param: "path",
  json: "body",
  form: "body",
  header: "header",
  cookie: "cookie",
};

/**
 * zod issues → field-level details: `{ code, field, location, message }` per issue. Each unknown
 * field of a strict object is reported under its own name: zod reports them together at the
 * object (`field: "json"`), which would hide that `is_superadmin` (say) is what was refused.
 */
export function validationDetails(error: ZodError, target: string): ErrorDetail[] {
  const issues = error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({
          path: [...issue.path, key],
          message: `Unknown field ${key}: it cannot be set through this operation`,
        }))
      : [issue],
  );
  return issues.map((issue) => ({
    code: "VALIDATION_ERROR",
    message: issue.message,
    field: issue.path.length > 0 ? issue.path.join(".") : target,
    location: locationOf[target] ?? target,
  }));
}

/** The defaultHook of every router: a failed validation answers 400 in the envelope. */
export function validationHook(
  result: { target: string } & ({ success: true } | { success: false; error: ZodError }),
  c: Context,
) {
  if (result.success) return;
  const details = validationDetails(result.error, result.target);
  const fields = [...new Set(details.map((d) => d.field))].join(", ");
  return c.json(errorBody(c, `Invalid request: ${fields}`, details), 400);
}
