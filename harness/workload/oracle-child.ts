/**
 * How an oracle runs a function file outside faaslab: a child process that reads the source
 * and the argument lists on stdin and writes one outcome a line on stdout, killed past a
 * timeout. The JavaScript oracle (kinds.ts) and the Python one (python.ts) differ only in the
 * program and in how a line reads.
 */
import { spawn, type SpawnOptions } from "node:child_process";

export interface OracleRun<O> {
  /** One per argument list that finished, in order. */
  outcomes: O[];
  /** The last 4,000 characters the child wrote on stderr (what the function printed, a traceback). */
  stderr: string;
  timedOut: boolean;
  exit: { code: number | null; signal: NodeJS.Signals | null };
  /** Set when the program could not be started at all. */
  spawnError?: Error;
}

export async function runOracleChild<O>(
  command: string, args: readonly string[], options: Pick<SpawnOptions, "cwd" | "env">, input: string, readLine: (line: string) => O, timeoutMs: number,
): Promise<OracleRun<O>> {
  const child = spawn(command, args, { ...options, stdio: ["pipe", "pipe", "pipe"] });
  const run: OracleRun<O> = { outcomes: [], stderr: "", timedOut: false, exit: { code: null, signal: null } };
  let stdout = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    for (let newline = stdout.indexOf("\n"); newline >= 0; newline = stdout.indexOf("\n")) {
      run.outcomes.push(readLine(stdout.slice(0, newline)));
      stdout = stdout.slice(newline + 1);
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (run.stderr = (run.stderr + chunk).slice(-4000)));
  child.stdin!.on("error", () => {}); // a child that died early: its exit says why
  child.stdin!.end(input);
  const timer = setTimeout(() => {
    run.timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  run.exit = await new Promise<OracleRun<O>["exit"]>((done) => {
    child.once("error", (error) => {
      run.spawnError = error;
      done({ code: null, signal: null });
    });
    child.once("close", (code, signal) => done({ code, signal }));
  }).finally(() => clearTimeout(timer));
  return run;
}
