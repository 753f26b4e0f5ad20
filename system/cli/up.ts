/** `faas up`: a whole cluster for manual use, started by the harness launcher, stopped on Ctrl-C. */
import { Command, InvalidArgumentError, Option } from "commander";
import { Cluster, type DispatcherMode, type WorkerShape } from "../../harness/cluster/cluster.js";
import { createLogger } from "../log.js";
import { logLevelOption, runUntilStopped } from "./lifecycle.js";

/** "<count>x<executors>", or a bare number (executors in local mode, workers of 2 executors otherwise). */
export function parseWorkers(value: string): WorkerShape {
  const match = /^(?:(\d+)x)?(\d+)$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError(`--workers must look like 2x4 (count x executors), got "${value}"`);
  const shape = match[1] === undefined ? { count: Number(match[2]), executors: 0 } : { count: Number(match[1]), executors: Number(match[2]) };
  if (shape.count < 1 || (match[1] !== undefined && shape.executors < 1)) throw new InvalidArgumentError(`--workers needs at least 1 worker of 1 executor, got "${value}"`);
  return shape;
}

/** What a --workers value means in a mode: local mode has one pool, of `executors`. */
export function workersFor(mode: DispatcherMode, shape: WorkerShape | undefined): WorkerShape {
  if (shape === undefined) return mode === "local" ? { count: 1, executors: 4 } : { count: 2, executors: 2 };
  if (shape.executors === 0) return mode === "local" ? { count: 1, executors: shape.count } : { count: shape.count, executors: 2 };
  if (mode === "local" && shape.count !== 1) {
    throw new InvalidArgumentError(`local mode runs one pool: give --workers as <executors> or 1x<executors>, not ${shape.count}x${shape.executors}`);
  }
  return shape;
}

export function registerUp(program: Command): void {
  program
    .command("up")
    .description("start a whole cluster (its own redis-server unless --redis is given, the API, a dispatcher and its workers); Ctrl-C stops it")
    .addOption(new Option("-m, --mode <mode>", "dispatcher mode").choices(["local", "pull", "push"]).default("local"))
    .option("-w, --workers <shape>", "<count>x<executors>, e.g. 2x4 (default: 4 executors in local mode, 2x2 in pull and push)", parseWorkers)
    .option("--redis <url>", "use this Redis instead of starting one")
    .option("-p, --port <port>", "API port", (value) => {
      const port = Number(value);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`--port must be a port number, got "${value}"`);
      return port;
    }, 8000)
    .option("--token <token>", "pull/push: the worker token (default: $FAAS_WORKER_TOKEN)")
    .option("--curve", "pull/push: encrypt and authenticate the worker links with CURVE (key pairs made in <dir>/curve)")
    .option("--dir <dir>", "where logs and Redis data go (default: a temporary directory, removed on exit)")
    .addOption(
      new Option("--appendfsync <policy>", "keep Redis's data in an append-only file, fsynced on every write (always) or once a second (everysec); with --dir it outlives the cluster")
        .choices(["always", "everysec"]),
    )
    .addOption(logLevelOption("least severe log events every component writes"))
    .action(async (options) => {
      const log = createLogger("up", options.logLevel);
      const mode = options.mode as DispatcherMode;
      const shape = workersFor(mode, options.workers);
      if (options.curve && mode === "local") throw new InvalidArgumentError("--curve applies to pull and push mode: local mode has no workers to talk to");
      const cluster = await Cluster.start({
        mode,
        executors: shape.executors,
        workers: shape,
        workerToken: options.token ?? (process.env.FAAS_WORKER_TOKEN || undefined),
        curve: options.curve === true,
        redisUrl: options.redis,
        // The dispatcher's metrics on a free port, printed below with the API's.
        dispatcher: { metricsPort: 0 },
        apiPort: options.port,
        dir: options.dir,
        logLevel: options.logLevel ?? process.env.FAAS_LOG_LEVEL,
        redisPersistence: options.appendfsync ? { kind: "aof", fsync: options.appendfsync } : { kind: "none" },
      });
      const dispatcher = mode === "local"
        ? `local mode, ${shape.executors} executors`
        : `${mode} mode at ${cluster.dispatcherEndpoint}, ${shape.count} workers x ${shape.executors} executors`;
      process.stdout.write(
        [
          "faaslab is up",
          `  API:        ${cluster.apiUrl}`,
          `  dashboard:  ${cluster.apiUrl}/dashboard   (or: faas status --api ${cluster.apiUrl} --watch)`,
          `  Redis:      ${cluster.redisUrl}${options.appendfsync ? ` (append-only file, appendfsync ${options.appendfsync})` : ""}`,
          `  dispatcher: ${dispatcher}`,
          `  metrics:    ${cluster.apiUrl}/metrics (API), ${cluster.dispatcherMetricsUrl} (dispatcher)`,
          `  logs:       ${cluster.dir}`,
          ...(cluster.curve ? [`  CURVE:      on; dispatcher public key ${cluster.curve.dispatcherPublicKey}, keys in ${cluster.curve.dir}`] : []),
          "Press Ctrl-C to stop.",
          "",
        ].join("\n"),
      );
      runUntilStopped(log, () => cluster.stop());
    });
}
