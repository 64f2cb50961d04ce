import { requestIdOf } from "./middleware/request-context";

/**
 * The envelope for a request the app could not answer at all (a Worker whose configuration is
 * invalid, an error that escaped the app on Bun): a 500 that says nothing about why, with the
 * request's id when it sent a valid one, so the log line with the details can be found.
 */
export function internalErrorResponse(incomingRequestId?: string | null): Response {
  const requestId = requestIdOf(incomingRequestId);
  const message = "Internal server error";
  const body = {
    success: false,
    data: null,
    message,
    errors: [{ code: "INTERNAL_ERROR", message }],
    metadata: { timestamp: new Date().toISOString(), request_id: requestId },
  };
  return new Response(JSON.stringify(body), {
    status: 500,
    headers: {
      "Content-Type": "application/json; charset=UTF-8",
      "Cache-Control": "no-store",
      "X-Request-ID": requestId,
    },
  });
}
