/** `faas up`: a whole cluster for manual use, started by the launcher, stopped on Ctrl-C. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { LaunchedCluster, type WorkerShape } from "../launcher/cluster.js";
import { DISPATCHER_MODES, type DispatcherMode } from "../modes.js";
import { createLogger } from "../log.js";
import { runUntilStopped } from "./lifecycle.js";
import { asOption, logLevelOption, parseWorkers, portNumber, positiveInteger } from "./options.js";
import { retireOption } from "./output.js";
import { addPythonOptions } from "./python.js";

/**
 * What `faas up` starts: --executors is the local pool's size (default 4) or each worker's
 * (default 2); --workers, pull and push only, the number of worker processes (default 2),
 * optionally with their executors (2x4).
 */
export function upShape(mode: DispatcherMode, workers: WorkerShape | undefined, executors: number | undefined): WorkerShape {
  if (workers !== undefined && workers.executors !== 0) {
    if (executors !== undefined && executors !== workers.executors) {
      throw new InvalidArgumentError(`--workers ${workers.count}x${workers.executors} and --executors ${executors} disagree: give the executors once`);
    }
    executors = workers.executors;
  }
  if (mode === "local") {
    if (workers !== undefined) throw new InvalidArgumentError("--workers applies to pull and push mode: local mode runs one pool, of --executors (default 4)");
    return { count: 1, executors: executors ?? 4 };
  }
  return { count: workers?.count ?? 2, executors: executors ?? 2 };
}

/** Where `faas up` keeps logs and Redis data without --dir; removed when it stops, or after a failed start has been told. */
function temporaryDir(): string {
  return mkdtempSync(join(tmpdir(), "faaslab-"));
}

/**
 * What a component's log said that explains a failed start, since a temporary directory (and
 * its logs) is about to be removed: the lines that are not JSON (a component's own
 * `faas api: ...` error) and the JSON ones at warn or above; for Redis, its warnings.
 */
export function usefulLogLines(dir: string, component: string, max = 12): string[] {
  const redis = component === "redis";
  let text: string;
  try {
    text = readFileSync(join(dir, redis ? "redis/redis.log" : `${component}.log`), "utf8");
  } catch {
    return [];
  }
  const lines: string[] = [];
  for (const line of text.split("\n")) {
    const useful = usefulLine(line, redis);
    if (useful) lines.push(useful);
  }
  return lines.slice(-max);
}

function usefulLine(line: string, redis: boolean): string | undefined {
  const trimmed = line.trim();
  if (!trimmed) return undefined;
  // Redis's own log: its warnings (#) only, without the pid and role.
  if (redis) return / # /.test(trimmed) ? trimmed.replace(/^\d+:\w /, "") : undefined;
  if (!trimmed.startsWith("{")) return trimmed.startsWith("(Use `node --trace") ? undefined : trimmed;
  try {
    const event = JSON.parse(trimmed) as { level?: number; msg?: string; err?: unknown };
    if ((event.level ?? 0) < 40) return undefined;
    const err = typeof event.err === "string" ? event.err : (event.err as { message?: string } | undefined)?.message;
    return err ? `${event.msg}: ${err}` : event.msg;
  } catch {
    return trimmed;
  }
}

export function registerUp(program: Command): void {
  const up = program
    .command("up")
    .summary("start a whole cluster for manual use; Ctrl-C stops it")
    .description("start a whole cluster (its own redis-server unless --redis is given, the API, a dispatcher and its workers); Ctrl-C stops it")
    .addOption(new Option("-m, --mode <mode>", "dispatcher mode").choices(DISPATCHER_MODES).default("local"))
    .option("--executors <n>", "executors of the local pool (default 4), or of each worker in pull and push mode (default 2)", asOption(positiveInteger("--executors")))
    .option("--workers <count>", "pull/push: worker processes (default 2); <count>x<executors>, e.g. 2x4, also sets --executors", parseWorkers)
    .option("--redis <url>", "use this Redis instead of starting one")
    .option("-p, --port <port>", "API port (0 picks a free one)", asOption(portNumber("--port")), 8000)
    .option("--api-token <token>", "the API requires Authorization: Bearer <token> on every endpoint but /healthz (default: $FAAS_API_TOKEN)")
    .option("--worker-token <token>", "pull/push: the token the dispatcher requires of workers, and they present (default: $FAAS_WORKER_TOKEN)")
    .option("--curve", "pull/push: encrypt and authenticate the worker links with CURVE (key pairs made in <dir>/curve)")
    .option("--dir <dir>", "where logs and Redis data go (default: a temporary directory, removed on exit)")
    .addOption(
      new Option("--appendfsync <policy>", "keep Redis's data in an append-only file, fsynced on every write (always) or once a second (everysec); with --dir it outlives the cluster")
        .choices(["always", "everysec"]),
    )
    .addOption(logLevelOption("least severe log events every component writes"));
  addPythonOptions(up, "every executor: ")
    .action(async (options) => {
      const log = createLogger("up", options.logLevel);
      const mode = options.mode as DispatcherMode;
      const shape = upShape(mode, options.workers, options.executors);
      if (options.curve && mode === "local") throw new InvalidArgumentError("--curve applies to pull and push mode: local mode has no workers to talk to");
      const apiToken: string | undefined = options.apiToken ?? (process.env.FAAS_API_TOKEN || undefined);
      const apiTokenFrom = options.apiToken !== undefined ? "--api-token" : "$FAAS_API_TOKEN";
      const workerToken: string | undefined = options.workerToken ?? (process.env.FAAS_WORKER_TOKEN || undefined);
      const workerTokenFrom = options.workerToken !== undefined ? "--worker-token" : "$FAAS_WORKER_TOKEN";
      // The temporary directory is ours, not the cluster's, so that a failed start can still
      // read the logs that say why before it goes.
      const dir: string = options.dir ?? temporaryDir();
      const removeDir = () => {
        if (options.dir === undefined && !process.env.FAAS_KEEP_LOGS) rmSync(dir, { recursive: true, force: true });
      };
      let cluster: LaunchedCluster;
      try {
        cluster = await LaunchedCluster.start({
          mode,
          executors: shape.executors,
          workers: shape,
          workerToken,
          apiToken,
          curve: options.curve === true,
          redisUrl: options.redis,
          // The dispatcher's metrics on a free port, printed below with the API's.
          dispatcher: { metricsPort: 0 },
          apiPort: options.port,
          dir,
          logLevel: options.logLevel ?? process.env.FAAS_LOG_LEVEL,
          redisPersistence: options.appendfsync ? { kind: "aof", fsync: options.appendfsync } : { kind: "none" },
          python: options.python === false ? false : { pythonPath: options.pythonPath, ...(typeof options.python === "string" ? { interpreter: options.python } : {}) },
        });
      } catch (error) {
        throw startFailure(error, dir, options.dir === undefined, removeDir);
      }
      const dispatcher = mode === "local"
        ? `local mode, ${shape.executors} executor${shape.executors === 1 ? "" : "s"}`
        : `${mode} mode at ${cluster.dispatcherEndpoint}, ${shape.count} worker${shape.count === 1 ? "" : "s"} x ${shape.executors} executor${shape.executors === 1 ? "" : "s"}${workerToken ? `, worker token from ${workerTokenFrom}` : ""}`;
      const statusHint = `faas status --api ${cluster.apiUrl}${apiToken ? " --api-token <token>" : ""} --watch`;
      process.stdout.write(
        [
          "faaslab is up",
          `  API:        ${cluster.apiUrl}`,
          ...(apiToken ? [`  API token:  required (from ${apiTokenFrom}) on every endpoint but /healthz: Authorization: Bearer <token>`] : []),
          `  dashboard:  ${cluster.apiUrl}/dashboard   (or: ${statusHint})`,
          `  Redis:      ${cluster.redisUrl}${options.appendfsync ? ` (append-only file, appendfsync ${options.appendfsync})` : ""}`,
          `  dispatcher: ${dispatcher}`,
          `  metrics:    ${cluster.apiUrl}/metrics (API), ${cluster.dispatcherMetricsUrl} (dispatcher)`,
          `  logs:       ${cluster.dir}${options.dir === undefined ? " (removed on exit)" : ""}`,
          ...(cluster.curve ? [`  CURVE:      on; dispatcher public key ${cluster.curve.dispatcherPublicKey}, keys in ${cluster.curve.dir}`] : []),
          "Press Ctrl-C to stop.",
          "",
        ].join("\n"),
      );
      runUntilStopped(log, async () => {
        await cluster.stop();
        removeDir();
      });
    });
  retireOption(up, "-w", "-w is no longer an option: give --executors <n> (and, in pull and push mode, --workers <count>)");
  retireOption(up, "--token", "--token is now --worker-token (the workers' token); the API's is --api-token");
}

/**
 * Why the cluster did not start, told before its temporary directory goes: the launcher's
 * error points at a log file, which is quoted instead when it is about to be removed.
 */
function startFailure(error: unknown, dir: string, temporary: boolean, removeDir: () => void): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (!temporary || process.env.FAAS_KEEP_LOGS) return error instanceof Error ? error : new Error(message);
  // The launcher names the component first: "api exited before it was ready (code 1; see <dir>/api.log)".
  const component = /^(redis|api|dispatcher|worker-\d+) /.exec(message)?.[1];
  const lines = component ? usefulLogLines(dir, component) : [];
  removeDir();
  // "(code 1; see <log>)" → "(code 1)"; " (see <log>)" → "": the log is gone, what it said is quoted.
  const told = [message.replace(/; see [^\s)]+\)/, ")").replace(/ \(see [^\s)]+\)/, "")];
  if (lines.length > 0) told[0] += `; its log said:`;
  told.push(...lines.map((line) => `  ${line}`));
  if (lines.some((line) => /^faas api: port \d+ .*already in use/.test(line))) told.push("Give faas up another --port (0 picks a free one).");
  return new Error(told.join("\n"));
}
