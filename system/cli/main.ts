#!/usr/bin/env node
/** `faas`: starts each faaslab component by hand, or a whole cluster with `faas up`. */
import { Command, InvalidArgumentError, Option } from "commander";
import { startApi } from "../api/server.js";
import { DEFAULT_BODY_LIMIT } from "../api/app.js";
import { LocalDispatcher } from "../dispatcher/local.js";
import { DISPATCHER_DEFAULTS } from "../dispatcher/options.js";
import { createLogger, logReady } from "../log.js";
import { redisUrlFrom } from "../store/redis.js";
import { nonNegativeInteger, positiveInteger, runUntilStopped, InvalidOption } from "./lifecycle.js";
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

program
  .command("api")
  .description("run the REST API")
  .option("--host <host>", "address to listen on", "127.0.0.1")
  .option("-p, --port <port>", "port to listen on (0 picks a free one)", asOption(nonNegativeInteger("--port")), 8000)
  .addOption(redisOption())
  .option("--body-limit <bytes>", "largest accepted request body", asOption(positiveInteger("--body-limit")), DEFAULT_BODY_LIMIT)
  .option("--prefix <prefix>", "Redis key prefix", "faas:")
  .action(async (options) => {
    const log = createLogger("api");
    const api = await startApi({
      host: options.host, port: options.port, redisUrl: redisUrlFrom(options.redis), bodyLimit: options.bodyLimit, prefix: options.prefix,
    }, log);
    runUntilStopped(log, () => api.close());
  });

program
  .command("dispatcher")
  .description("run a task dispatcher")
  .addOption(new Option("-m, --mode <mode>", "how tasks are executed").choices(["local"]).default("local"))
  .option("-w, --workers <executors>", "executors of the local pool", asOption(positiveInteger("--workers")), 4)
  .addOption(redisOption())
  .option("--task-deadline <ms>", "deadline of a task that did not set its own", asOption(positiveInteger("--task-deadline")), DISPATCHER_DEFAULTS.taskDeadlineMs)
  .option("--executor-memory-mb <mb>", "heap limit of each executor", asOption(positiveInteger("--executor-memory-mb")), 256)
  .option("--max-attempts <n>", "starts of a task before a lost worker fails it with WorkerLost", asOption(positiveInteger("--max-attempts")), DISPATCHER_DEFAULTS.maxAttempts)
  .option("--heartbeat <ms>", "liveness heartbeat interval", asOption(positiveInteger("--heartbeat")), DISPATCHER_DEFAULTS.heartbeatMs)
  .option("--heartbeat-tolerance <n>", "missed heartbeats before a dispatcher is presumed dead", asOption(positiveInteger("--heartbeat-tolerance")), DISPATCHER_DEFAULTS.heartbeatTolerance)
  .option("--result-ttl <seconds>", "how long finished tasks are kept (0: forever)", asOption(nonNegativeInteger("--result-ttl")), DISPATCHER_DEFAULTS.resultTtlSeconds)
  .option("--prefix <prefix>", "Redis key prefix", "faas:")
  .action(async (options) => {
    const log = createLogger("dispatcher");
    const dispatcher = new LocalDispatcher({
      redisUrl: redisUrlFrom(options.redis),
      prefix: options.prefix,
      executors: options.workers,
      executorMemoryMb: options.executorMemoryMb,
      taskDeadlineMs: options.taskDeadline,
      maxAttempts: options.maxAttempts,
      heartbeatMs: options.heartbeat,
      heartbeatTolerance: options.heartbeatTolerance,
      resultTtlSeconds: options.resultTtl,
    }, log);
    await dispatcher.start();
    logReady(log, { mode: options.mode, executors: options.workers, id: dispatcher.id });
    runUntilStopped(log, () => dispatcher.stop());
  });

registerUp(program);

program.parseAsync(process.argv).catch((error) => {
  process.stderr.write(`faas: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
