/** How a long-running component ends: on SIGINT/SIGTERM, or when the process that launched it (`faas up`, the harness) is gone. */
import type { Logger } from "../log.js";

/**
 * Calls `close` once on the first SIGINT or SIGTERM (a second one exits at once), then exits.
 * When FAAS_PARENT_PID is set (the launcher sets it), also exits when that process disappears,
 * so nothing a launcher started outlives it even if the launcher is killed with -9.
 */
export function runUntilStopped(log: Logger, close: () => Promise<void>): void {
  let closing = false;
  const shutdown = (reason: string) => {
    if (closing) process.exit(1);
    closing = true;
    log.info({ reason }, "stopping");
    close().then(
      () => process.exit(0),
      (error) => {
        log.error({ err: error }, "error while stopping");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  const parent = Number(process.env.FAAS_PARENT_PID);
  if (parent > 0) {
    setInterval(() => {
      try {
        process.kill(parent, 0);
      } catch {
        shutdown("parent process exited");
      }
    }, 1000).unref();
  }
}
