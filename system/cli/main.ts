#!/usr/bin/env node
/** `faas`: starts each faaslab component by hand, or a whole cluster with `faas up`. */
import { Command, InvalidArgumentError, Option } from "commander";
import { startApi } from "../api/server.js";
import { DEFAULT_BODY_LIMIT } from "../api/app.js";
import { LocalDispatcher } from "../dispatcher/local.js";
import { RemoteDispatcher } from "../dispatcher/remote.js";
import { Worker } from "../worker/worker.js";
import { DISPATCHER_DEFAULTS } from "../dispatcher/options.js";
import { createLogger, logReady } from "../log.js";
import { redisUrlFrom } from "../store/redis.js";
import { MAX_DEADLINE_MS } from "../task.js";
import { nonNegativeInteger, positiveInteger, runUntilStopped, InvalidOption, zmqEndpoint } from "./lifecycle.js";
import { registerUp } from "./up.js";

const program = new Command("faas")
  .description("faaslab: a small distributed Function-as-a-Service")
  .showHelpAfterError("(run with --help for usage)")
  .configureOutput({ outputError: (text, write) => write(text) });

const redisOption = () =>
  new Option("--redis <url>", "Redis URL (default: $FAAS_REDIS_URL, else redis://127.0.0.1:6379)");
const asOption = <T>(parse: (value: string) => T) => (value: string): T => {
  try {
    return parse(value);
  } catch (error) {
    if (error instanceof InvalidOption) throw new InvalidArgumentError(error.message);
    throw error;
  }
};

const deadline = (value: string): number => {
  const ms = positiveInteger("--task-deadline")(value);
  if (ms > MAX_DEADLINE_MS) throw new InvalidOption(`--task-deadline must be at most ${MAX_DEADLINE_MS} ms (a day), got ${ms}`);
  return ms;
};

program
  .command("api")
  .description("run the REST API")
  .option("--host <host>", "address to listen on", "127.0.0.1")
  .option("-p, --port <port>", "port to listen on (0 picks a free one)", asOption(nonNegativeInteger("--port")), 8000)
  .addOption(redisOption())
  .option("--body-limit <bytes>", "largest accepted request body", asOption(positiveInteger("--body-limit")), DEFAULT_BODY_LIMIT)
  .option("--prefix <prefix>", "Redis key prefix", "faas:")
  .option("--api-token <token>", "require Authorization: Bearer <token> on every endpoint but /healthz (default: $FAAS_API_TOKEN)")
  .action(async (options) => {
    const log = createLogger("api");
    const apiToken = options.apiToken ?? (process.env.FAAS_API_TOKEN || undefined);
    if (!apiToken && options.host !== "127.0.0.1" && options.host !== "localhost") {
      log.warn("no API token is set: anyone who can reach this address can run code on the cluster");
    }
    const api = await startApi({
      host: options.host, port: options.port, redisUrl: redisUrlFrom(options.redis), bodyLimit: options.bodyLimit, prefix: options.prefix, apiToken,
    }, log);
    runUntilStopped(log, () => api.close());
  });

program
  .command("dispatcher")
  .description("run a task dispatcher: local runs tasks on its own executors; pull and push hand them to workers over ZeroMQ")
  .addOption(new Option("-m, --mode <mode>", "how tasks are executed").choices(["local", "pull", "push"]).default("local"))
  .option("-w, --workers <executors>", "local mode: executors of the pool", asOption(positiveInteger("--workers")), 4)
  .option("-p, --port <port>", "pull/push mode: port workers connect to (0 picks a free one)", asOption(nonNegativeInteger("--port")), 5555)
  .option("--host <host>", "pull/push mode: address to bind (0.0.0.0 for workers on other machines)", "127.0.0.1")
  .option("--token <token>", "pull/push mode: workers must present this token (default: $FAAS_WORKER_TOKEN; none: any worker may join)")
  .addOption(redisOption())
  .option("--task-deadline <ms>", "deadline of a task that did not set its own (at most a day)", asOption(deadline), DISPATCHER_DEFAULTS.taskDeadlineMs)
  .option("--executor-memory-mb <mb>", "local mode: heap limit of each executor", asOption(positiveInteger("--executor-memory-mb")), 256)
  .option("--max-attempts <n>", "starts of a task before a lost worker fails it with WorkerLost", asOption(positiveInteger("--max-attempts")), DISPATCHER_DEFAULTS.maxAttempts)
  .option("--heartbeat <ms>", "heartbeat interval (to workers, and of liveness in Redis)", asOption(positiveInteger("--heartbeat")), DISPATCHER_DEFAULTS.heartbeatMs)
  .option("--heartbeat-tolerance <n>", "missed heartbeats before a worker or dispatcher is presumed lost", asOption(positiveInteger("--heartbeat-tolerance")), DISPATCHER_DEFAULTS.heartbeatTolerance)
  .option("--result-ttl <seconds>", "how long finished tasks are kept (0: forever)", asOption(nonNegativeInteger("--result-ttl")), DISPATCHER_DEFAULTS.resultTtlSeconds)
  .option("--prefix <prefix>", "Redis key prefix", "faas:")
  .action(async (options) => {
    const log = createLogger("dispatcher");
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
      const dispatcher = new LocalDispatcher({ ...shared, executors: options.workers, executorMemoryMb: options.executorMemoryMb }, log);
      await dispatcher.start();
      logReady(log, { mode: options.mode, executors: options.workers, id: dispatcher.id });
      runUntilStopped(log, () => dispatcher.stop());
      return;
    }
    const token = options.token ?? (process.env.FAAS_WORKER_TOKEN || undefined);
    if (!token) log.warn("no worker token is set: any process that can reach the port may join as a worker");
    const dispatcher = new RemoteDispatcher({ ...shared, mode: options.mode, host: options.host, port: options.port, token }, log);
    await dispatcher.start();
    logReady(log, { mode: options.mode, endpoint: dispatcher.endpoint, id: dispatcher.id });
    runUntilStopped(log, () => dispatcher.stop());
  });

for (const mode of ["pull", "push"] as const) {
  program
    .command(`${mode}-worker`)
    .description(`run a ${mode} worker: <executors> executors serving the dispatcher at <dispatcher-url>`)
    .argument("<executors>", "number of executors", asOption(positiveInteger("<executors>")))
    .argument("<dispatcher-url>", "the dispatcher's ZeroMQ endpoint, e.g. tcp://127.0.0.1:5555", asOption(zmqEndpoint))
    .option("--token <token>", "the dispatcher's worker token (default: $FAAS_WORKER_TOKEN)")
    .option("--executor-memory-mb <mb>", "heap limit of each executor", asOption(positiveInteger("--executor-memory-mb")), 256)
    .action(async (executors: number, dispatcherUrl: string, options) => {
      const log = createLogger(`${mode}-worker`);
      const worker = new Worker({
        mode, executors, dispatcherUrl, token: options.token ?? (process.env.FAAS_WORKER_TOKEN || undefined), executorMemoryMb: options.executorMemoryMb,
      }, log);
      worker.start();
      logReady(log, { mode, executors, dispatcherUrl, id: worker.id });
      worker.refused.catch((error: Error) => {
        process.stderr.write(`faas ${mode}-worker: refused by the dispatcher: ${error.message}\n`);
        void worker.stop(0).finally(() => process.exit(2));
      });
      runUntilStopped(log, () => worker.stop());
    });
}

registerUp(program);

program.parseAsync(process.argv).catch((error) => {
  process.stderr.write(`faas: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
