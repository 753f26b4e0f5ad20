/**
 * The parsers of `faas`'s option values, each with a message that names its option: numbers,
 * ports, endpoints, worker shapes, log levels.
 */
import { InvalidArgumentError, Option } from "commander";
import { LOG_LEVELS } from "../log.js";
import type { WorkerShape } from "../launcher/cluster.js";

/** --log-level, on every long-running command: it wins over $FAAS_LOG_LEVEL. */
export function logLevelOption(what = "least severe log events written"): Option {
  return new Option("--log-level <level>", `${what} (default: $FAAS_LOG_LEVEL, else info)`).choices(LOG_LEVELS);
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

/** "<count>" or "<count>x<executors>" (executors 0: not given). */
export function parseWorkers(value: string): WorkerShape {
  const match = /^(?:(\d+)x)?(\d+)$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError(`--workers must be a number of workers, or <count>x<executors> such as 2x4, got "${value}"`);
  const shape = match[1] === undefined ? { count: Number(match[2]), executors: 0 } : { count: Number(match[1]), executors: Number(match[2]) };
  if (shape.count < 1 || (match[1] !== undefined && shape.executors < 1)) throw new InvalidArgumentError(`--workers needs at least 1 worker of 1 executor, got "${value}"`);
  return shape;
}
