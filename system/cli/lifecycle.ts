/** How a long-running component ends: on SIGINT/SIGTERM, or when the harness that started it is gone. */
import { InvalidArgumentError, Option } from "commander";
import { LOG_LEVELS, type Logger } from "../log.js";

/** --log-level, on every long-running command: it wins over $FAAS_LOG_LEVEL. */
export function logLevelOption(what = "least severe log events written"): Option {
  return new Option("--log-level <level>", `${what} (default: $FAAS_LOG_LEVEL, else info)`).choices(LOG_LEVELS);
}

/**
 * Calls `close` once on the first SIGINT or SIGTERM (a second one exits at once), then exits.
 * When FAAS_PARENT_PID is set (the harness sets it), also exits when that process disappears,
 * so nothing the harness started outlives it even if the harness is killed with -9.
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

/** A parser for commander: an InvalidOption becomes commander's InvalidArgumentError, reported as a usage error. */
export const asOption = <T>(parse: (value: string) => T) => (value: string): T => {
  try {
    return parse(value);
  } catch (error) {
    if (error instanceof InvalidOption) throw new InvalidArgumentError(error.message);
    throw error;
  }
};

/** Parses a positive integer option for commander, with a message naming the option. */
export function positiveInteger(name: string) {
  return (value: string): number => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < 1) throw new InvalidOption(`${name} must be a positive integer, got "${value}"`);
    return number;
  };
}

export function nonNegativeInteger(name: string) {
  return (value: string): number => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < 0) throw new InvalidOption(`${name} must be a whole number of 0 or more, got "${value}"`);
    return number;
  };
}

/** Parses a TCP port for commander (0 picks a free one), with a message naming the option. */
export function portNumber(name: string) {
  return (value: string): number => {
    const number = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
    if (!Number.isInteger(number) || number < 0 || number > 65535) throw new InvalidOption(`${name} must be a port number from 0 to 65535, got ${value}`);
    return number;
  };
}

/** A ZeroMQ TCP endpoint a worker can connect to: tcp://host:port. */
export function zmqEndpoint(value: string): string {
  const match = /^tcp:\/\/([^:/\s]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(value);
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) {
    throw new InvalidOption(`the dispatcher URL must look like tcp://127.0.0.1:5555, got "${value}"`);
  }
  return value;
}

export class InvalidOption extends Error {
  override name = "InvalidOption";
}
