#!/usr/bin/env node
/** `faas`: starts each faaslab component by hand, or a whole cluster with `faas up`. */
import { Command, Option } from "commander";
import { startApi } from "../api/server.js";
import { DEFAULT_BODY_LIMIT, DEFAULT_MAX_ARGS_BYTES, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_UNFINISHED_PER_FUNCTION } from "../api/limits.js";
import { LocalDispatcher } from "../dispatcher/local.js";
import { RemoteDispatcher } from "../dispatcher/remote.js";
import { Worker } from "../worker/worker.js";
import { DISPATCHER_DEFAULTS } from "../dispatcher/options.js";
import { DEFAULT_MAX_RESULT_BYTES, ISOLATION_MODES } from "../executor/pool.js";
import { createLogger, logReady } from "../log.js";
import { metricsEnabled, newRegistry, serveMetrics, type MetricsServer } from "../metrics.js";
import { createDispatcherMetrics, noDispatcherMetrics } from "../dispatcher/metrics.js";
import { formatKeyPairFile, generateKeyPair, writeKeyPairFile } from "../protocol/curve.js";
import { dispatcherCurve, workerCurve } from "../protocol/curve-settings.js";
import { connectRedis, redisUrlFrom } from "../store/redis.js";
import { TaskStore } from "../store/store.js";
import { MAX_DEADLINE_MS } from "../task.js";
import { DISPATCHER_MODES, WORKER_MODES } from "../modes.js";
import { runUntilStopped } from "./lifecycle.js";
import { asOption, logLevelOption, nonNegativeInteger, portNumber, positiveInteger, InvalidOption, zmqEndpoint } from "./options.js";
import { bindError, commandPath, configureCliOutput, exitQuietlyOnClosedPipe, packageVersion, retireOption } from "./output.js";
import { registerStatus } from "./status.js";
import { registerUp } from "./up.js";
import { addPythonOptions, pythonSettings } from "./python.js";

const program = new Command("faas")
  .description("faaslab: a small distributed Function-as-a-Service")
  .version(packageVersion(), "-V, --version", "print faaslab's version");

/** The command whose action runs, for its errors ("faas up: ..."). */
let running: Command | undefined;
program.hook("preAction", (_program, action) => {
  running = action;
});
/** Commands that serve until Ctrl-C: a closed stdout does not stop them. */
const LONG_RUNNING = new Set(["api", "dispatcher", "pull-worker", "push-worker", "up"]);
exitQuietlyOnClosedPipe(() => running !== undefined && LONG_RUNNING.has(running.name()));

const redisOption = () =>
  new Option("--redis <url>", "Redis URL (default: $FAAS_REDIS_URL, else redis://127.0.0.1:6379)");

const deadline = (value: string): number => {
  const ms = positiveInteger("--task-deadline")(value);
  if (ms > MAX_DEADLINE_MS) throw new InvalidOption(`--task-deadline must be at most ${MAX_DEADLINE_MS} ms (a day), got ${ms}`);
  return ms;
};

program
  .command("api")
  .description("run the REST API")
  .option("--host <host>", "address to listen on", "127.0.0.1")
  .option("-p, --port <port>", "port to listen on (0 picks a free one)", asOption(portNumber("--port")), 8000)
  .addOption(redisOption())
  .option("--body-limit <bytes>", "largest accepted request body", asOption(positiveInteger("--body-limit")), DEFAULT_BODY_LIMIT)
  .option("--max-args-bytes <bytes>", "largest serialized arguments of one task (413 past it)", asOption(positiveInteger("--max-args-bytes")), DEFAULT_MAX_ARGS_BYTES)
  .option(
    "--max-response-bytes <bytes>", "most bytes of results one answer of GET /result or POST /results may carry (413 past it)",
    asOption(positiveInteger("--max-response-bytes")), DEFAULT_MAX_RESPONSE_BYTES,
  )
  .option(
    "--max-unfinished-per-function <n>", "accepted, unfinished tasks of one function before submissions get 429 (0: no bound)",
    asOption(nonNegativeInteger("--max-unfinished-per-function")), DEFAULT_MAX_UNFINISHED_PER_FUNCTION,
  )
  .option("--prefix <prefix>", "Redis key prefix", "faas:")
  .option("--api-token <token>", "require Authorization: Bearer <token> on every endpoint but /healthz (default: $FAAS_API_TOKEN)")
  .addOption(logLevelOption())
  .action(async (options) => {
    const log = createLogger("api", options.logLevel);
    const apiToken = options.apiToken ?? (process.env.FAAS_API_TOKEN || undefined);
    if (!apiToken && options.host !== "127.0.0.1" && options.host !== "localhost") {
      log.warn("no API token is set: anyone who can reach this address can run code on the cluster");
    }
    const api = await startApi({
      host: options.host, port: options.port, redisUrl: redisUrlFrom(options.redis), bodyLimit: options.bodyLimit, prefix: options.prefix, apiToken,
      maxArgsBytes: options.maxArgsBytes, maxResponseBytes: options.maxResponseBytes, maxUnfinishedPerFunction: options.maxUnfinishedPerFunction,
    }, log).catch((error: unknown) => {
      throw bindError(error, "port", options.host, options.port);
    });
    runUntilStopped(log, () => api.close());
  });

const dispatcherCommand = program
  .command("dispatcher")
  .summary("run a task dispatcher (local, pull or push)")
  .description("run a task dispatcher: local runs tasks on its own executors; pull and push hand them to workers over ZeroMQ")
  .addOption(new Option("-m, --mode <mode>", "how tasks are executed").choices(DISPATCHER_MODES).default("local"))
  .option("-w, --executors <n>", "local mode: executors of the pool (-w is the MPCSFaaS spelling: task_dispatcher.py -m local -w N)", asOption(positiveInteger("--executors")), 4)
  .option("-p, --port <port>", "pull/push mode: port workers connect to (0 picks a free one)", asOption(portNumber("--port")), 5555)
  .option("--host <host>", "pull/push mode: address to bind (0.0.0.0 for workers on other machines)", "127.0.0.1")
  .option("--worker-token <token>", "pull/push mode: workers must present this token (default: $FAAS_WORKER_TOKEN; none: any worker may join)")
  .option("--curve-secret-key-file <file>", "pull/push mode: encrypt the link with CURVE, with this key pair (faas keygen makes one; default: $FAAS_CURVE_SECRET_KEY, a Z85 secret key)")
  .option("--curve-allow <file>", "pull/push mode, with CURVE: the worker public keys allowed to connect, one per line, # comments; re-read when it changes (default: $FAAS_CURVE_ALLOW, keys separated by commas)")
  .option("--max-message-bytes <bytes>", "pull/push mode: largest message accepted from a worker (bounds a result); a larger one closes its connection", asOption(positiveInteger("--max-message-bytes")), DISPATCHER_DEFAULTS.maxMessageBytes)
  .addOption(redisOption())
  .option("--task-deadline <ms>", "deadline of a task that did not set its own (at most a day)", asOption(deadline), DISPATCHER_DEFAULTS.taskDeadlineMs)
  .option("--executor-memory-mb <mb>", "local mode: heap limit of each executor", asOption(positiveInteger("--executor-memory-mb")), 256)
  .addOption(new Option("--executor-isolation <where>", "local mode: where executor threads run: process (a permission-restricted executor host, the second wall) or thread (in this process: faster, for trusted functions only)").choices([...ISOLATION_MODES]).default("process"))
  .option("--max-result-bytes <bytes>", "local mode: largest serialized result of a task (past it the task fails with ResultTooLarge)", asOption(positiveInteger("--max-result-bytes")), DEFAULT_MAX_RESULT_BYTES)
  .option("--max-attempts <n>", "starts of a task before a lost worker fails it with WorkerLost", asOption(positiveInteger("--max-attempts")), DISPATCHER_DEFAULTS.maxAttempts)
  .option("--heartbeat <ms>", "heartbeat interval (to workers, and of liveness in Redis)", asOption(positiveInteger("--heartbeat")), DISPATCHER_DEFAULTS.heartbeatMs)
  .option("--heartbeat-tolerance <n>", "missed heartbeats before a worker or dispatcher is presumed lost", asOption(positiveInteger("--heartbeat-tolerance")), DISPATCHER_DEFAULTS.heartbeatTolerance)
  .option("--result-ttl <seconds>", "how long finished tasks are kept (0: forever)", asOption(nonNegativeInteger("--result-ttl")), DISPATCHER_DEFAULTS.resultTtlSeconds)
  .option("--prefix <prefix>", "Redis key prefix", "faas:")
  .option("--metrics-port <port>", "serve Prometheus metrics at http://127.0.0.1:<port>/metrics (0 picks a free port; the ready line gives metricsUrl)", asOption(portNumber("--metrics-port")))
  .addOption(logLevelOption());
addPythonOptions(dispatcherCommand, "local mode: ")
  .action(async (options, command: Command) => {
    const log = createLogger("dispatcher", options.logLevel);
    if (options.mode !== "local" && command.getOptionValueSource("executors") === "cli") {
      log.warn(`--executors applies to local mode; in ${options.mode} mode each worker has its own (faas ${options.mode}-worker <executors> <dispatcher-url>)`);
    }
    const registry = newRegistry();
    const metrics = metricsEnabled() ? createDispatcherMetrics(registry, { withWorkers: options.mode !== "local" }) : noDispatcherMetrics;
    // Started once the dispatcher is, so that a scrape always finds it.
    const serveMetricsIfAsked = async (): Promise<{ server?: MetricsServer; ready: { metricsUrl?: string } }> => {
      if (options.metricsPort === undefined) return { ready: {} };
      const server = await serveMetrics(registry, "127.0.0.1", options.metricsPort).catch((error: unknown) => {
        throw bindError(error, "metrics port", "127.0.0.1", options.metricsPort);
      });
      return { server, ready: { metricsUrl: server.url } };
    };
    const shared = {
      redisUrl: redisUrlFrom(options.redis),
      prefix: options.prefix,
      taskDeadlineMs: options.taskDeadline,
      maxAttempts: options.maxAttempts,
      heartbeatMs: options.heartbeat,
      heartbeatTolerance: options.heartbeatTolerance,
      resultTtlSeconds: options.resultTtl,
    };
    if (options.mode === "local") {
      if (options.curveSecretKeyFile !== undefined || options.curveAllow !== undefined) throw new Error("CURVE applies to pull and push mode only: local mode has no workers to talk to");
      const dispatcher = new LocalDispatcher({
        ...shared, executors: options.executors, executorMemoryMb: options.executorMemoryMb, maxResultBytes: options.maxResultBytes,
        isolation: options.executorIsolation, python: await pythonSettings(options, log),
      }, log, metrics);
      await dispatcher.start();
      const served = await serveMetricsIfAsked();
      logReady(log, { mode: options.mode, executors: options.executors, id: dispatcher.id, ...served.ready });
      runUntilStopped(log, async () => {
        await served.server?.close();
        await dispatcher.stop();
      });
      return;
    }
    const token = options.workerToken ?? (process.env.FAAS_WORKER_TOKEN || undefined);
    const curve = dispatcherCurve(options, process.env, (error) => log.error({ err: error.message }, "the allowlist could not be read again; the previous keys still apply"));
    for (const warning of curve.warnings) log.warn(warning);
    if (!token && !curve.settings) log.warn("no worker token is set: any process that can reach the port may join as a worker");
    const dispatcher = new RemoteDispatcher({
      ...shared, mode: options.mode, host: options.host, port: options.port, token, curve: curve.settings, maxMessageBytes: options.maxMessageBytes,
    }, log, metrics);
    await dispatcher.start().catch((error: unknown) => {
      throw bindError(error, "ZeroMQ port", options.host, options.port);
    });
    const served = await serveMetricsIfAsked();
    logReady(log, {
      mode: options.mode, endpoint: dispatcher.endpoint, id: dispatcher.id, ...served.ready,
      ...(curve.settings ? { curvePublicKey: curve.settings.keyPair.publicKey, allowedKeys: curve.settings.allowlist.size } : {}),
    });
    runUntilStopped(log, async () => {
      await served.server?.close();
      await dispatcher.stop();
    });
  });
retireOption(dispatcherCommand, "--workers", "--workers is now --executors (or -w, the MPCSFaaS spelling): the executors of the local pool");
retireOption(dispatcherCommand, "--token", "--token is now --worker-token");

for (const mode of WORKER_MODES) {
  const workerCommand = program
    .command(`${mode}-worker`)
    .summary(`run a ${mode} worker`)
    .description(`run a ${mode} worker: <executors> executors serving the dispatcher at <dispatcher-url>`)
    .argument("<executors>", "number of executors", asOption(positiveInteger("<executors>")))
    .argument("<dispatcher-url>", "the dispatcher's ZeroMQ endpoint, e.g. tcp://127.0.0.1:5555", asOption(zmqEndpoint))
    .option("--worker-token <token>", "the dispatcher's worker token (default: $FAAS_WORKER_TOKEN)")
    .option("--curve-server-key <key-or-file>", "encrypt the link with CURVE: the dispatcher's public key, Z85 or a file holding it (default: $FAAS_CURVE_SERVER_KEY)")
    .option("--curve-secret-key-file <file>", "with CURVE: this worker's key pair, made by faas keygen (default: $FAAS_CURVE_SECRET_KEY, a Z85 secret key)")
    .option("--executor-memory-mb <mb>", "heap limit of each executor", asOption(positiveInteger("--executor-memory-mb")), 256)
    .addOption(new Option("--executor-isolation <where>", "where executor threads run: process (a permission-restricted executor host, the second wall) or thread (in this process: faster, for trusted functions only)").choices([...ISOLATION_MODES]).default("process"))
    .option("--max-result-bytes <bytes>", "largest serialized result of a task (past it the task fails with ResultTooLarge)", asOption(positiveInteger("--max-result-bytes")), DEFAULT_MAX_RESULT_BYTES)
    .addOption(logLevelOption());
  addPythonOptions(workerCommand)
    .action(async (executors: number, dispatcherUrl: string, options) => {
      const log = createLogger(`${mode}-worker`, options.logLevel);
      const curve = workerCurve(options);
      for (const warning of curve.warnings) log.warn(warning);
      const worker = new Worker({
        mode, executors, dispatcherUrl, token: options.workerToken ?? (process.env.FAAS_WORKER_TOKEN || undefined), curve: curve.settings, executorMemoryMb: options.executorMemoryMb,
        maxResultBytes: options.maxResultBytes, isolation: options.executorIsolation, python: await pythonSettings(options, log),
      }, log);
      worker.start();
      logReady(log, { mode, executors, dispatcherUrl, id: worker.id });
      worker.refused.catch((error: Error) => {
        process.stderr.write(`faas ${mode}-worker: refused by the dispatcher: ${error.message}\n`);
        void worker.stop(0).finally(() => process.exit(2));
      });
      runUntilStopped(log, () => worker.stop());
    });
  retireOption(workerCommand, "--token", "--token is now --worker-token");
}

program
  .command("keygen")
  .summary("make a CURVE key pair for the dispatcher-worker link")
  .description("make a CURVE key pair (Z85) for the dispatcher-worker link: prints the key pair file, or with --out writes it (mode 0600) and prints only its public key")
  .option("--out <file>", "write the key pair here (mode 0600, never overwritten) and print its public key, e.g. to append to an allowlist")
  .action((options: { out?: string }) => {
    const pair = generateKeyPair();
    if (options.out === undefined) {
      process.stdout.write(formatKeyPairFile(pair));
      return;
    }
    writeKeyPairFile(options.out, pair);
    process.stdout.write(`${pair.publicKey}\n`);
    process.stderr.write(`faas keygen: wrote the key pair to ${options.out} (mode 0600); its public key is on stdout\n`);
  });

program
  .command("recount")
  .summary("set the task counts from the tasks in Redis (cluster stopped)")
  .description("set the task counts by state (what GET /cluster, faas status and the dashboard show) from the tasks in Redis; for counts left wrong by an older faaslab on the same Redis. Run it with the cluster stopped")
  .addOption(redisOption())
  .option("--prefix <prefix>", "Redis key prefix", "faas:")
  .action(async (options: { redis?: string; prefix: string }) => {
    const url = redisUrlFrom(options.redis);
    const redis = connectRedis(url, "serving", { retryStrategy: () => null, connectTimeout: 5000, lazyConnect: true });
    // ioredis rejects a failed connect with "Connection is closed."; the error event says why.
    let connectionError: Error | undefined;
    redis.on("error", (error: Error) => (connectionError = error));
    try {
      await redis.connect().catch((error: Error) => {
        throw connectionError ?? error;
      });
      const counts = await new TaskStore(redis, { prefix: options.prefix }).recountTasks();
      process.stdout.write(`${Object.entries(counts).map(([status, count]) => `${status} ${count}`).join(", ")}\n`);
    } catch (error) {
      throw new Error(`could not recount the tasks at ${url}: ${(error as Error).message}`);
    } finally {
      redis.disconnect();
    }
  });

registerUp(program);
registerStatus(program);
configureCliOutput(program);

program.parseAsync(process.argv).catch((error) => {
  process.stderr.write(`${commandPath(running)}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
