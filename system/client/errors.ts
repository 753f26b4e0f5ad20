/** What the SDK throws: an HTTP error from the API, with its status and code. */
export class FaaSError extends Error {
  override name = "FaaSError";
  constructor(
    message: string,
    /** HTTP status (0 when the API could not be reached). */
    readonly status: number,
    /** The API's error code, e.g. FUNCTION_NOT_FOUND. */
    readonly code: string,
  ) {
    super(message);
  }
}

/** A task ended FAILED; `error` is the function's (or faaslab's) error, deserialized. */
export class TaskFailedError extends Error {
  override name = "TaskFailedError";
  constructor(readonly taskId: string, readonly error: unknown) {
    super(`task ${taskId} failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  }
}

/** `run` or `result({ wait })` gave up before the task finished. */
export class TaskTimeoutError extends Error {
  override name = "TaskTimeoutError";
  constructor(readonly taskId: string, readonly waitedMs: number) {
    super(`task ${taskId} did not finish within ${waitedMs} ms`);
  }
}
