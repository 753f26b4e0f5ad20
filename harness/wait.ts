/** Waiting on state with a deadline, never on a fixed sleep. */

export class WaitTimeout extends Error {
  override name = "WaitTimeout";
}

export interface WaitOptions {
  /** What is awaited, for the error message: "the task to be RUNNING". */
  what: string;
  timeoutMs?: number;
  /** Delay between checks; it grows to 4× this while nothing changes. */
  intervalMs?: number;
}

/** Calls `check` until it returns a value other than undefined/false, or throws WaitTimeout. */
export async function waitFor<T>(check: () => Promise<T | undefined | false> | T | undefined | false, options: WaitOptions): Promise<T> {
  const { what, timeoutMs = 10_000, intervalMs = 10 } = options;
  const deadline = Date.now() + timeoutMs;
  let delay = intervalMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError ? ` (last error: ${(lastError as Error).message})` : "";
      throw new WaitTimeout(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, Math.max(0, deadline - Date.now()))));
    delay = Math.min(delay * 1.5, intervalMs * 4);
  }
}
