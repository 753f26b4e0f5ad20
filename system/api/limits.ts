/**
 * The API's limits and their defaults, named once for the API, its CLI flags and the SDK
 * (which splits a longer wait into requests of at most MAX_WAIT_SECONDS).
 */

/** Largest accepted request body, in bytes (`--body-limit`). */
export const DEFAULT_BODY_LIMIT = 16 * 1024 * 1024;
/** Largest serialized argument list of one task (`--max-args-bytes`): it is stored in Redis and crosses to a worker. */
export const DEFAULT_MAX_ARGS_BYTES = 8 * 1024 * 1024;
/**
 * Most bytes of results one GET /result or POST /results answer may carry (`--max-response-bytes`):
 * past it the request is a 413 RESPONSE_TOO_LARGE, so no single request can make the API (or
 * Redis's output buffers) hold an unbounded answer.
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
/** Backpressure: a function with this many accepted, unfinished tasks gets 429 until some finish (`--max-unfinished-per-function`). */
export const DEFAULT_MAX_UNFINISHED_PER_FUNCTION = 100_000;
/** The longest `wait` of GET /result and POST /results, in seconds. */
export const MAX_WAIT_SECONDS = 30;
/** The most tasks one batch request may submit or wait for. */
export const MAX_BATCH = 10_000;
