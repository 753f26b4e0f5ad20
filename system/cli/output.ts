/**
 * How `faas` speaks: its version, help wrapped to a sane width, one format for every error
 * (`faas <command>: <message>`, commander's own included), flags that were renamed refused
 * with their new name, and a quiet exit when stdout is a pipe that was closed (`| head -1`).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Option, type Command } from "commander";

/** Help wraps to the terminal's width; elsewhere (a pipe, a file, a test) to this many columns. */
export const HELP_WIDTH_OFF_TERMINAL = 100;

/** The version in faaslab's package.json (found above this file, from dist/ or from source). */
export function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "faaslab" && pkg.version) return pkg.version;
    }
    if (dirname(dir) === dir) return "unknown";
  }
}

/** What a command's name is in messages: "faas" for the program itself, "faas up" for `up`. */
export function commandPath(command: Command | undefined): string {
  const names: string[] = [];
  for (let c = command; c; c = c.parent ?? undefined) names.unshift(c.name());
  return names.length === 0 ? "faas" : names.join(" ");
}

/**
 * A commander error in faaslab's words: "error: option '-p, --port <port>' argument 'x' is
 * invalid. --port must be ..." says only what faaslab's parser said; a value outside the
 * choices says which were allowed; other usage errors point at --help.
 */
export function commanderMessage(text: string, where: string): string {
  const message = text.trim().replace(/^error: /, "");
  const invalid = /^option '(.+?)' argument '(.*)' is invalid\. (.*)$/s.exec(message);
  if (invalid) {
    const [, flags, value, reason] = invalid;
    const choices = /^Allowed choices are (.*)\.$/s.exec(reason);
    if (choices) return `${longFlag(flags)} must be one of ${choices[1]}, got "${value}"`;
    return reason;
  }
  const argument = /^command-argument value '.*' is invalid for argument '.+?'\. (.*)$/s.exec(message);
  if (argument) return argument[1];
  return `${message.replace(/\.$/, "")} (see ${where} --help)`;
}

/** "-m, --mode <mode>" → "--mode". */
function longFlag(flags: string): string {
  return /--[\w-]+/.exec(flags)?.[0] ?? flags.split(/[ ,]/)[0];
}

/**
 * Sets, on the program and every command under it, the help width and the error format.
 * Call it once every command is registered (configureOutput is copied when a command is made).
 */
export function configureCliOutput(program: Command): void {
  const width = (stream: NodeJS.WriteStream) => (stream.isTTY ? stream.columns : HELP_WIDTH_OFF_TERMINAL);
  const visit = (command: Command) => {
    const where = commandPath(command);
    command.configureOutput({
      getOutHelpWidth: () => width(process.stdout),
      getErrHelpWidth: () => width(process.stderr),
      outputError: (text, write) => write(`${where}: ${commanderMessage(text, where)}\n`),
    });
    for (const sub of command.commands) visit(sub);
  };
  visit(program);
}

/**
 * A flag that was renamed: still parsed (hidden from help), so that using it is refused with
 * its new name rather than with "unknown option". `[value]` so that both `--token` and
 * `--token x` are caught.
 */
export function retireOption(command: Command, flags: string, message: string): Command {
  const option = new Option(`${flags} [value]`).hideHelp();
  command.addOption(option);
  command.hook("preAction", (self) => {
    // Thrown, not self.error(): it is reported as any error of the command is, without a pointer to --help.
    if (self.getOptionValue(option.attributeName()) !== undefined) throw new Error(message);
  });
  return command;
}

/**
 * The error of a socket that could not be bound, in words that name the port: Node's is
 * "listen EADDRINUSE: address already in use 127.0.0.1:8000", ZeroMQ's "Address already in use".
 * `what` names the port: "port", "ZeroMQ port", "metrics port".
 */
export function bindError(error: unknown, what: string, host: string, port: number): Error {
  const code = (error as { code?: string } | undefined)?.code;
  const named = `${what} ${port} on ${host}`;
  if (code === "EADDRINUSE") return new Error(`${named} is already in use`);
  if (code === "EADDRNOTAVAIL") return new Error(`${named} cannot be bound: ${host} is not an address of this machine`);
  if (code === "EACCES") return new Error(`${named} may not be bound by this user (ports below 1024 need privileges)`);
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * A reader that went away (`faas status --json | head -1`) closes the pipe: stop quietly,
 * exit code 0, rather than die of an unhandled EPIPE. `keepRunning` commands (faas up, whose
 * cluster must be stopped by Ctrl-C) just stop writing.
 */
export function exitQuietlyOnClosedPipe(keepRunning: () => boolean): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE") {
        if (!keepRunning()) process.exit(0);
        return;
      }
      // Nothing else is expected of stdout or stderr; say it where it can still be said.
      if (stream !== process.stderr) process.stderr.write(`faas: cannot write to stdout: ${error.message}\n`);
      process.exit(1);
    });
  }
}
