/** Structured logs: one JSON line per event on stdout, tagged with the component. */
import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(component: string, level = process.env.FAAS_LOG_LEVEL ?? "info"): Logger {
  return pino({ level, base: { component, pid: process.pid } });
}

/**
 * A lifecycle event the harness waits for (`ready`, a worker's `registered`): an ordinary
 * log line, `{"event":"ready",...}`, written whatever the log level.
 */
export function logLifecycle(log: Logger, event: string, details: Record<string, unknown>, message: string = event): void {
  log.child({}, { level: "info" }).info({ event, ...details }, message);
}

/** The line the harness waits for before it uses a component. */
export function logReady(log: Logger, details: Record<string, unknown>): void {
  logLifecycle(log, "ready", details);
}
