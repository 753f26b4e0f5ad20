/** Structured logs: one JSON line per event on stdout, tagged with the component. */
import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(component: string, level = process.env.FAAS_LOG_LEVEL ?? "info"): Logger {
  return pino({ level, base: { component, pid: process.pid } });
}

/**
 * The line the harness waits for before it uses a component. Written with the
 * component's logger so it is an ordinary log event: `{"event":"ready",...}`.
 */
export function logReady(log: Logger, details: Record<string, unknown>): void {
  // Written whatever the log level: the harness waits for it.
  log.child({}, { level: "info" }).info({ event: "ready", ...details }, "ready");
}
