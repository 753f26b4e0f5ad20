/**
 * Every error the API answers with, and how any error becomes an answer: a code, an HTTP
 * status and a message. The body is always `{ "error": message, "code": code }`.
 *
 * A 503 is decided from the error itself, never from the state of the connection at the
 * time: a programming error (a TypeError in a handler) is a 500 with its log line even while
 * Redis happens to be reconnecting, and only an error that says Redis could not be reached
 * is a `503 REDIS_UNAVAILABLE`.
 */
import type { FastifyError } from "fastify";
import { maxHeaderSize } from "node:http";

export const API_ERRORS = {
  BAD_REQUEST: 400,
  MALFORMED_REQUEST: 400,
  INVALID_JSON: 400,
  INVALID_FUNCTION: 400,
  INVALID_ARGUMENTS: 400,
  UNAUTHORIZED: 401,
  FUNCTION_NOT_FOUND: 404,
  TASK_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  BODY_TOO_LARGE: 413,
  ARGUMENTS_TOO_LARGE: 413,
  RESPONSE_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  HEADERS_TOO_LARGE: 431,
  FUNCTION_BUSY: 429,
  REDIS_UNAVAILABLE: 503,
} as const;
export type ApiErrorCode = keyof typeof API_ERRORS;

export class ApiError extends Error {
  readonly statusCode: number;
  /** Seconds after which the client may try again (429 and 503). */
  readonly retryAfter?: number;
  constructor(readonly code: ApiErrorCode, message: string, retryAfter?: number) {
    super(message);
    this.statusCode = API_ERRORS[code];
    this.retryAfter = retryAfter;
  }
}

export interface ErrorBody {
  error: string;
  code: string;
}

export function taskNotFound(taskId: string): ApiError {
  return new ApiError("TASK_NOT_FOUND", `there is no task ${taskId}`);
}

/** Fastify's own errors that are the client's doing, in the API's codes. */
const FASTIFY_CODES: Record<string, { statusCode: number; code: ApiErrorCode }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { statusCode: 400, code: "INVALID_JSON" },
  FST_ERR_CTP_EMPTY_JSON_BODY: { statusCode: 400, code: "INVALID_JSON" },
  FST_ERR_CTP_BODY_TOO_LARGE: { statusCode: 413, code: "BODY_TOO_LARGE" },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { statusCode: 415, code: "UNSUPPORTED_MEDIA_TYPE" },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { statusCode: 400, code: "BAD_REQUEST" },
};

/**
 * The router's own errors (fastify's `frameworkErrors`), which come before any route: a path
 * whose percent-encoding cannot be decoded, or a path parameter longer than the router reads.
 * Any id in a path is a UUID, so both are the 400 a malformed id gets.
 */
export function describeRouterError(error: FastifyError, path: string): { statusCode: number; body: ErrorBody } {
  switch (error.code) {
    case "FST_ERR_BAD_URL":
      return { statusCode: 400, body: { error: `invalid request: '${path}' is not a valid URL (a % must be followed by two hex digits, and encode UTF-8)`, code: "BAD_REQUEST" } };
    case "FST_ERR_MAX_PARAM_LENGTH":
      return { statusCode: 400, body: { error: `invalid request: '${path}' has a path parameter longer than ${MAX_PARAM_LENGTH} characters`, code: "BAD_REQUEST" } };
    default:
      return describeError(error);
  }
}

/** How a request that failed is answered. */
export function describeError(error: FastifyError): { statusCode: number; body: ErrorBody } {
  if (error instanceof ApiError) return { statusCode: error.statusCode, body: { error: error.message, code: error.code } };
  if (error.validation) return { statusCode: 400, body: { error: `invalid request: ${error.message}`, code: "BAD_REQUEST" } };
  const known = error.code ? FASTIFY_CODES[error.code] : undefined;
  if (known) return { statusCode: known.statusCode, body: { error: error.message, code: known.code } };
  if (error instanceof SyntaxError) return { statusCode: 400, body: { error: `malformed JSON: ${error.message}`, code: "INVALID_JSON" } };
  if (isRedisUnavailable(error)) return { statusCode: 503, body: { error: "Redis is unreachable; try again shortly", code: "REDIS_UNAVAILABLE" } };
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    // Only the documented codes reach a client: fastify's own (FST_ERR_…) are not the API's contract.
    const code = error.code !== undefined && Object.hasOwn(API_ERRORS, error.code) ? error.code : "BAD_REQUEST";
    return { statusCode: error.statusCode, body: { error: error.message, code } };
  }
  return { statusCode: 500, body: { error: "internal error", code: "INTERNAL" } };
}

/** The longest path parameter the router reads (fastify's default `maxParamLength`); a UUID is 36 characters. */
export const MAX_PARAM_LENGTH = 100;

/** What the API serves; a method HTTP does not define is answered 405 with these in `Allow`. */
export const SERVED_METHODS = "GET, HEAD, POST";

/** A request Node's HTTP parser refused (fastify's `clientErrorHandler`): `code` is llhttp's (HPE_…) or Node's, `reason` llhttp's words. */
export interface ParserError extends Error {
  code?: string;
  reason?: string;
}

/**
 * How a request that never became one is answered: the bytes on the connection were not
 * HTTP/1.1 that Node's parser accepts, or did not arrive in time. No route, hook or handler
 * ran; the answer is written on the socket, which is then closed.
 */
export function describeClientError(error: ParserError, headerLimit = maxHeaderSize): { statusCode: number; body: ErrorBody; headers: Record<string, string> } {
  const answer = (code: ApiErrorCode, message: string, headers: Record<string, string> = {}) => ({ statusCode: API_ERRORS[code], body: { error: message, code }, headers });
  switch (error.code) {
    case "HPE_HEADER_OVERFLOW":
      return answer("HEADERS_TOO_LARGE", `the request's headers take more than ${headerLimit} bytes, the most the API reads`);
    case "HPE_INVALID_METHOD":
      return answer("METHOD_NOT_ALLOWED", "the request's method is not one HTTP defines; the API serves GET, HEAD and POST", { allow: SERVED_METHODS });
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return answer("REQUEST_TIMEOUT", "the request did not arrive in time");
    default:
      return answer("MALFORMED_REQUEST", error.reason ? `the request is not valid HTTP/1.1: ${error.reason}` : "the request is not valid HTTP/1.1");
  }
}

/** Socket errors of a link to Redis that broke or never came up. */
const CONNECTION_ERROR_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTCONN", "EAI_AGAIN"]);

/** What ioredis rejects a command with when Redis cannot answer it (ioredis gives these no class or code). */
const UNAVAILABLE_MESSAGES = [
  // The connection dropped with the command in flight, or had been closed.
  /^Connection is closed\.?$/,
  // A serving connection (no offline queue) while it reconnects: the command fails at once.
  /^Stream isn't writeable and enableOfflineQueue options is false$/,
  // commandTimeout: Redis did not answer in time.
  /^Command timed out$/,
  // Redis is reading its append-only file after a restart.
  /^LOADING /,
];

/**
 * Whether an error says that Redis could not be reached or could not answer yet, as opposed
 * to a bug, or a command Redis refused. Causes are followed (an error wrapping a Redis one).
 */
export function isRedisUnavailable(error: unknown): boolean {
  let current = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    const { name, message, code } = current as NodeJS.ErrnoException;
    // ioredis's MaxRetriesPerRequestError (not exported by its package entry): the connection
    // was lost more often than a serving connection retries a command.
    if (name === "MaxRetriesPerRequestError") return true;
    if (code !== undefined && CONNECTION_ERROR_CODES.has(code)) return true;
    if (UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(message))) return true;
    current = current.cause;
  }
  return false;
}
