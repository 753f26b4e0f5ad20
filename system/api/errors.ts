/**
 * Every error the API answers with: a code, an HTTP status and a message. The body is
 * always `{ "error": message, "code": code }`.
 */
export const API_ERRORS = {
  BAD_REQUEST: 400,
  INVALID_JSON: 400,
  INVALID_FUNCTION: 400,
  INVALID_ARGUMENTS: 400,
  UNAUTHORIZED: 401,
  FUNCTION_NOT_FOUND: 404,
  TASK_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  BODY_TOO_LARGE: 413,
  ARGUMENTS_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
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
