/**
 * One process that faaslab launched (a component of `faas up`, or of a harness cluster):
 * spawned with execa in a session of its own, its output written to a log file, its
 * readiness read from its output, and every one of them killed when the launching process
 * exits, however it exits.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { once } from "node:events";
import { execa, type ResultPromise } from "execa";
import { findExecutable } from "../paths.js";

export interface ProcessSpec {
  /** A name for logs and errors: "api", "redis", "dispatcher". */
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: Record<string, string>;
  /** Its working directory (default: the launcher's). */
  cwd?: string;
  /** Returns what it learned from an output line once that line shows the process is ready. */
  readyWhen: (line: string) => Record<string, unknown> | undefined;
  /** A line that shows the process cannot start, e.g. "Address already in use". */
  failsWhen?: (line: string) => string | undefined;
  /**
   * Readiness that no output line shows (a port that accepts, a URL that answers): resolves
   * once the process is ready. Polled alongside `readyWhen`; `running()` says whether the
   * process still runs, so a probe can give up once it has exited.
   */
  readyProbe?: (running: () => boolean) => Promise<Record<string, unknown>>;
  /** The signal a graceful stop sends (default SIGTERM). */
  stopSignal?: NodeJS.Signals;
}

/** Makes the process object for a spec: the harness gives one that can also be paused. */
export type ProcessFactory<P extends ManagedProcess = ManagedProcess> = (spec: ProcessSpec) => P;

export { findExecutable };

/**
 * util-linux's setpriv sets the kernel's parent-death signal and then execs the command (the
 * pid stays the same), so a child dies with its launcher even when that is killed -9.
 */
const SETPRIV = findExecutable("setpriv");

const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort: whatever the launcher still runs dies with it (also on an uncaught error).
  process.on("exit", () => {
    for (const child of live) child.killNow();
  });
}

export class ProcessStartError extends Error {
  override name = "ProcessStartError";
}

export class ManagedProcess {
  private child: ResultPromise | undefined;
  private log: WriteStream | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** What the ready line said (e.g. the URL the process listens on). */
  readyInfo: Record<string, unknown> = {};
  /** When it was last started (ms since the epoch): the nemesis picks the oldest or newest by it. */
  startedAt = 0;

  constructor(readonly spec: ProcessSpec) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The exit code once the process has exited (null if a signal ended it), else undefined. */
  get exitCode(): number | null | undefined {
    if (!this.child || this.running) return undefined;
    return this.child.exitCode;
  }

  /** Starts the process and resolves once it is ready; rejects (after killing it) if it exits or fails first. */
  async start(timeoutMs = 15_000): Promise<Record<string, unknown>> {
    installExitHook();
    this.startedAt = Date.now();
    this.log = createWriteStream(this.spec.logFile, { flags: "a" });
    const [command, args] = SETPRIV
      ? [SETPRIV, ["--pdeathsig", "KILL", "--", this.spec.command, ...this.spec.args]]
      : [this.spec.command, this.spec.args];
    const child = execa(command, args, {
      env: { ...this.spec.env, FAAS_PARENT_PID: String(process.pid) },
      ...(this.spec.cwd === undefined ? {} : { cwd: this.spec.cwd }),
      stdin: "ignore",
      buffer: false,
      reject: false,
      // A session of its own: a terminal's Ctrl-C (sent to the whole foreground process group)
      // reaches only the launcher, which then stops the cluster in order. It still dies with
      // the launcher: the parent-death signal (setpriv), FAAS_PARENT_PID and the exit hook.
      detached: true,
      forceKillAfterDelay: 5000,
    });
    this.child = child;
    live.add(this);
    // Exited means the process is gone, not that its output is closed: a child it left behind may
    // hold the pipes open (execa's promise waits for them), and a kill must not wait on that.
    const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    this.exited = Promise.race([gone, child.then(() => undefined, () => undefined)]).finally(() => live.delete(this));
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });

    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (error?: Error, info?: Record<string, unknown>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.stdout?.off("data", onStdout);
        child.stderr?.off("data", onStderr);
        if (error) {
          this.killNow();
          reject(error);
        } else {
          this.readyInfo = info ?? {};
          resolve(this.readyInfo);
        }
      };
      // Lines are read from both streams (a Python server logs on stderr), each with its own buffer.
      const lineReader = () => {
        let buffered = "";
        return (chunk: Buffer) => {
          buffered += chunk.toString();
          let newline;
          while ((newline = buffered.indexOf("\n")) >= 0) {
            const line = buffered.slice(0, newline);
            buffered = buffered.slice(newline + 1);
            const failure = this.spec.failsWhen?.(line);
            if (failure) return settle(new ProcessStartError(`${this.spec.name} could not start: ${failure}`));
            const info = this.spec.readyWhen(line);
            if (info) return settle(undefined, info);
          }
        };
      };
      const onStdout = lineReader();
      const onStderr = lineReader();
      const timer = setTimeout(
        () => settle(new ProcessStartError(`${this.spec.name} was not ready within ${timeoutMs} ms (see ${this.spec.logFile})`)),
        timeoutMs,
      );
      child.stdout?.on("data", onStdout);
      child.stderr?.on("data", onStderr);
      this.spec.readyProbe?.(() => !settled && this.running).then(
        (info) => settle(undefined, info),
        (error: Error) => settle(new ProcessStartError(`${this.spec.name} was not ready: ${error.message}`)),
      );
      child.on("error", (error) => settle(new ProcessStartError(`${this.spec.name} could not be started: ${error.message}`)));
      void this.exited.then(() =>
        settle(new ProcessStartError(`${this.spec.name} exited before it was ready (code ${child.exitCode ?? child.signalCode}; see ${this.spec.logFile})`)),
      );
    });
  }

  /** Asks the process to stop (its stop signal, SIGTERM by default), and kills it if it is still there after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return this.closeLog();
    this.sendSignal(this.spec.stopSignal ?? "SIGTERM");
    const timer = setTimeout(() => this.killNow(), graceMs);
    await this.exited;
    clearTimeout(timer);
    await this.closeLog();
  }

  /** Synchronous SIGKILL, for exit hooks. */
  killNow(): void {
    if (this.running) this.sendSignal("SIGKILL");
  }

  async waitForExit(): Promise<void> {
    await this.exited;
  }

  /** Sends a signal to the process itself (not its session), if it runs; resolves nothing. */
  protected sendSignal(signal: NodeJS.Signals): void {
    if (this.running) this.child!.kill(signal);
  }

  private async closeLog(): Promise<void> {
    const log = this.log;
    this.log = undefined;
    if (log && !log.closed) {
      log.end();
      await once(log, "close").catch(() => {});
    }
  }
}

/** One of faaslab's JSON log lines, parsed; undefined for anything else. */
export function logEvent(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The ready event of a component. */
export function readyEvent(line: string): Record<string, unknown> | undefined {
  const event = logEvent(line);
  return event?.event === "ready" ? event : undefined;
}
