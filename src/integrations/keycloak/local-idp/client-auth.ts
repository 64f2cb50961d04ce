import { secretsEqual } from "./passwords";
import { type ClientRecord, findClientByClientId, type RealmRecord } from "./store";

export type ClientAuthentication =
  | { ok: true; client: ClientRecord }
  | {
      ok: false;
      status: 400 | 401;
      /** Null when Keycloak answers with a bare Basic challenge. */
      body: { error: string; error_description: string } | null;
      headers: Record<string, string>;
    };

const INVALID_CLIENT = "Invalid client or Invalid client credentials";

/**
 * Keycloak's `client-secret` authenticator: client_id and client_secret from an HTTP Basic header
 * (RFC 6749 2.3.1: each form-urlencoded first) or from the form, the form winning. Public clients
 * need no secret. The failure answers are Keycloak's, including its two different error codes:
 * `invalid_client` for an unknown or disabled client, `unauthorized_client` for a bad secret.
 */
export function authenticateClient(
  realm: RealmRecord,
  form: URLSearchParams,
  authorization: string | undefined,
): ClientAuthentication {
  let clientId: string | null = null;
  let secret: string | null = null;
  if (authorization) {
    const basic = parseBasic(authorization);
    if (basic) {
      [clientId, secret] = basic;
    } else if (!form.has("client_id")) {
      return {
        ok: false,
        status: 401,
        body: null,
        headers: { "WWW-Authenticate": `Basic realm="${realm.name}"` },
      };
    }
  }
  clientId = form.get("client_id") ?? clientId;
  secret = form.get("client_secret") ?? secret;

  if (clientId === null) {
    return failure(400, "invalid_client", "Missing client_id parameter");
  }
  const client = findClientByClientId(realm, clientId);
  if (!client?.enabled) return failure(401, "invalid_client", INVALID_CLIENT);
  if (client.publicClient) return { ok: true, client };
  if (secret === null || client.secret === null || !secretsEqual(secret, client.secret)) {
    return failure(401, "unauthorized_client", INVALID_CLIENT);
  }
  return { ok: true, client };
}

function failure(status: 400 | 401, error: string, description: string): ClientAuthentication {
  return { ok: false, status, body: { error, error_description: description }, headers: {} };
}

function parseBasic(header: string): [string, string] | null {
  const match = header.match(/^Basic\s+([A-Za-z0-9+/=]+)\s*$/i);
  if (!match?.[1]) return null;
  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(atob(match[1]), (char) => char.charCodeAt(0)),
    );
  } catch {
    return null;
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  try {
    return [formDecode(decoded.slice(0, colon)), formDecode(decoded.slice(colon + 1))];
  } catch {
    return null;
  }
}

function formDecode(text: string): string {
  return decodeURIComponent(text.replace(/\+/g, " "));
}
