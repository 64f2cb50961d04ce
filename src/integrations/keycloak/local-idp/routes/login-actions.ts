import type { Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { LocalIdpAdmin } from "../admin";
import { escapeHtml, readForm } from "../http";
import type { IdpStore, RealmRecord, UserRecord } from "../store";
import { type Claims, numberClaim, readHmacSignedToken, stringClaim } from "../tokens";
import { realmOf } from "./realm";

/**
 * The page behind the link of an execute-actions email: GET shows the form, POST carries the
 * actions out (a new password; a verified email). The link's token is signed, expires, names
 * the user and their email at sending time, and works once. Keycloak runs this through its
 * login flow and themes; this is the same contract with one plain page.
 */
export function registerLoginActionRoutes(app: Hono, store: IdpStore, admin: LocalIdpAdmin): void {
  const path = "/realms/:realm/login-actions/action-token";

  app.get(path, async (c) => {
    const action = await readActionToken(c, store);
    if (!action.ok) return page(c, 400, "Error", action.message);
    return actionForm(c, action.actions);
  });

  app.post(path, async (c) => {
    const action = await readActionToken(c, store);
    if (!action.ok) return page(c, 400, "Error", action.message);
    const { realm, user, claims, actions } = action;
    const form = await readForm(c);
    let password: string | null = null;
    if (actions.includes("UPDATE_PASSWORD")) {
      password = form.get("password-new") ?? "";
      if (!password) return actionForm(c, actions, "Please specify password.");
      if (password !== form.get("password-confirm")) {
        return actionForm(c, actions, "Passwords don't match.");
      }
    }
    // Spent before the (slow) hash, so a second submission cannot race this one.
    const jti = stringClaim(claims, "jti") ?? "";
    realm.usedActionTokens.set(jti, numberClaim(claims, "exp") ?? 0);
    if (password !== null) await admin.setPassword(realm.name, user.id, password);
    if (actions.includes("VERIFY_EMAIL")) {
      user.emailVerified = true;
      user.requiredActions.delete("VERIFY_EMAIL");
    }
    return page(c, 200, "Account updated", "Your account has been updated.");
  });
}

type ActionToken =
  | { ok: true; realm: RealmRecord; user: UserRecord; claims: Claims; actions: string[] }
  | { ok: false; message: string };

const INVALID_LINK = "The link you clicked is no longer valid. It may have expired.";

async function readActionToken(c: Context, store: IdpStore): Promise<ActionToken> {
  const realm = realmOf(c, store);
  const key = c.req.query("key");
  if (!realm || !key) return { ok: false, message: INVALID_LINK };
  const claims = await readHmacSignedToken(store, realm, key);
  if (claims?.typ !== "execute-actions") return { ok: false, message: INVALID_LINK };
  const now = store.nowSeconds();
  for (const [jti, exp] of realm.usedActionTokens)
    if (exp <= now) realm.usedActionTokens.delete(jti);
  if ((numberClaim(claims, "exp") ?? 0) <= now) return { ok: false, message: "Action expired." };
  const jti = stringClaim(claims, "jti");
  if (!jti || realm.usedActionTokens.has(jti)) return { ok: false, message: INVALID_LINK };
  const sub = stringClaim(claims, "sub");
  const user = sub === undefined ? undefined : realm.users.get(sub);
  // A link sent to an address the user no longer has must not work for the new owner.
  if (!user?.enabled || user.email !== stringClaim(claims, "eml")) {
    return { ok: false, message: INVALID_LINK };
  }
  const actions = Array.isArray(claims.rqac)
    ? claims.rqac.filter((a): a is string => typeof a === "string")
    : [];
  return { ok: true, realm, user, claims, actions };
}

function actionForm(c: Context, actions: string[], error?: string): Response {
  const passwordFields = actions.includes("UPDATE_PASSWORD")
    ? `<label>New password <input type="password" name="password-new" autocomplete="new-password" required></label>
<label>Confirm password <input type="password" name="password-confirm" autocomplete="new-password" required></label>`
    : "";
  const body = `${error ? `<p role="alert">${escapeHtml(error)}</p>` : ""}
<form method="post">
${passwordFields}
<button type="submit">Submit</button>
</form>`;
  return html(c, error ? 400 : 200, "Update your account", body);
}

function page(c: Context, status: ContentfulStatusCode, title: string, message: string) {
  return html(c, status, title, `<p>${escapeHtml(message)}</p>`);
}

function html(c: Context, status: ContentfulStatusCode, title: string, body: string): Response {
  return c.html(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`,
    status,
    {
      "Cache-Control": "no-store",
      // The link carries a secret in its query: keep it out of Referer headers.
      "Referrer-Policy": "no-referrer",
      "X-Frame-Options": "DENY",
      "Content-Security-Policy": "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
    },
  );
}
