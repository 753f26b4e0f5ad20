/** The API process: its Redis connections, the listening socket and a clean shutdown. */
import type { FastifyInstance } from "fastify";
import { createLogger, logReady, type Logger } from "../log.js";
import { connectRedis } from "../store/redis.js";
import { TaskStore } from "../store/store.js";
import { metricsEnabled, newRegistry } from "../metrics.js";
import { buildApp } from "./app.js";
import { FinishedTasks } from "./finished-tasks.js";
import { DEFAULT_BODY_LIMIT, DEFAULT_MAX_UNFINISHED_PER_FUNCTION } from "./limits.js";
import { createApiMetrics, noApiMetrics } from "./metrics.js";

export interface ApiOptions {
  host: string;
  /** 0 picks a free port; the ready log line says which. */
  port: number;
  redisUrl: string;
  prefix?: string;
  bodyLimit?: number;
  /** Largest serialized arguments of one task, in bytes. */
  maxArgsBytes?: number;
  /** Most bytes of results one answer may carry. */
  maxResponseBytes?: number;
  /** Most accepted, unfinished tasks of one function before submissions get 429 (0: no bound). */
  maxUnfinishedPerFunction?: number;
  /** How long a Redis command may take before the request is answered 503, in ms. */
  redisCommandTimeoutMs?: number;
  /** How long to wait for Redis at start before serving anyway, in ms. */
  redisStartTimeoutMs?: number;
  /** Require `Authorization: Bearer <token>` on every endpoint but /healthz. */
  apiToken?: string;
}

export interface RunningApi {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

export async function startApi(options: ApiOptions, log: Logger = createLogger("api")): Promise<RunningApi> {
  const redis = connectRedis(options.redisUrl, "serving", { commandTimeout: options.redisCommandTimeoutMs ?? 5000 });
  const subscriber = connectRedis(options.redisUrl, "working", { enableAutoPipelining: false });
  const registry = newRegistry();
  const metrics = metricsEnabled() ? createApiMetrics(registry) : noApiMetrics;
  let redisDown = false;
  const onError = (error: Error) => {
    metrics.redisError();
    if (!redisDown) log.warn({ err: error.message }, "Redis is unreachable; answering 503 until it is back");
    redisDown = true;
  };
  redis.on("error", onError);
  subscriber.on("error", onError);
  redis.on("ready", () => {
    if (redisDown) log.info("Redis is reachable again");
    redisDown = false;
  });

  const store = new TaskStore(redis, { prefix: options.prefix, maxUnfinishedPerFunction: options.maxUnfinishedPerFunction ?? DEFAULT_MAX_UNFINISHED_PER_FUNCTION });
  const finished = new FinishedTasks(subscriber, store.keys.finishedChannel);
  const subscribed = finished.start();
  // Ready means able to serve: wait (a bounded time) for Redis and for the subscription that
  // result waits rely on. If Redis is away, serve anyway: requests get 503 until it is back.
  const connected = redis.status === "ready" ? Promise.resolve() : new Promise<void>((resolve) => redis.once("ready", () => resolve()));
  const inTime = await Promise.race([
    Promise.all([connected, subscribed]).then(() => true),
    new Promise<false>((resolve) => setTimeout(() => resolve(false), options.redisStartTimeoutMs ?? 5000).unref()),
  ]);
  if (!inTime) log.warn("Redis is not reachable yet; serving anyway (503 until it is)");
  const app = buildApp({
    store, finished, logger: log, bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT, maxArgsBytes: options.maxArgsBytes, maxResponseBytes: options.maxResponseBytes, apiToken: options.apiToken,
    metrics, registry,
  });
  const address = await app.listen({ host: options.host, port: options.port });
  const url = address.replace("[::1]", "127.0.0.1");
  logReady(log, { url });
  return {
    app,
    url,
    async close() {
      await app.close();
      redis.disconnect();
      subscriber.disconnect();
    },
  };
}
