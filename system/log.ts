/**
 * Structured logs: one JSON line per event on stdout, tagged with the component. On a
 * terminal the same events are pretty-printed; anything else (the harness, CI, a file) gets
 * JSON lines, which is what the harness parses.
 */
import { createRequire } from "node:module";
import { pino, type Logger } from "pino";
import type PinoPretty from "pino-pretty";

export type { Logger };

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `level` (from --log-level) wins over FAAS_LOG_LEVEL, which wins over info. */
export function createLogger(component: string, level: string = process.env.FAAS_LOG_LEVEL ?? "info"): Logger {
  const options = { level, base: { component, pid: process.pid } };
  if (!process.stdout.isTTY) return pino(options);
  // Loaded only for a terminal (it takes tens of ms to load); synchronous, in this thread, so
  // that a line is on screen before the process goes on (or exits).
  const pretty = createRequire(import.meta.url)("pino-pretty") as typeof PinoPretty;
  return pino(options, pretty({ colorize: true, sync: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname" }));
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
