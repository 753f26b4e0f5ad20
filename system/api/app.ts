/**
 * The REST API, compatible with the MPCSFaaS course project. `buildApp` composes one plugin
 * per resource (routes/) over a store; `server.ts` owns the connections and the socket, so
 * tests can use `inject`. What applies to every route is set here, before the plugins: the
 * token, the metrics hook, the error and not-found answers, the answers to requests that
 * never reach a route (client-errors.ts), and the OpenAPI document's generator (openapi.ts).
 */
import fastifySwagger from "@fastify/swagger";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply } from "fastify";
import type { Registry } from "prom-client";
import type { Logger } from "../log.js";
import { ClusterReader } from "../status/read.js";
import type { TaskStore } from "../store/store.js";
import { requireToken } from "./auth.js";
import { answerClientError } from "./client-errors.js";
import { ApiError, describeError, describeRouterError, MAX_PARAM_LENGTH, type ErrorBody } from "./errors.js";
import type { FinishedTasks } from "./finished-tasks.js";
import { DEFAULT_BODY_LIMIT, DEFAULT_MAX_ARGS_BYTES, DEFAULT_MAX_RESPONSE_BYTES } from "./limits.js";
import { noApiMetrics, type ApiMetrics } from "./metrics.js";
import { openApiOptions } from "./openapi.js";
import { dashboardRoutes } from "./routes/dashboard.js";
import { docsRoutes } from "./routes/docs.js";
import { functionRoutes } from "./routes/functions.js";
import { healthRoutes } from "./routes/health.js";
import { metricsRoutes } from "./routes/metrics.js";
import { resultRoutes } from "./routes/results.js";
import { statusRoutes } from "./routes/status.js";
import { taskRoutes } from "./routes/tasks.js";
import { drainUpload } from "./upload.js";

export interface AppDependencies {
  store: TaskStore;
  finished: FinishedTasks;
  logger: Logger;
  /** Largest accepted request body, in bytes. */
  bodyLimit?: number;
  /** Largest serialized arguments of one task, in bytes. */
  maxArgsBytes?: number;
  /** Most bytes of results one answer of GET /result or POST /results may carry. */
  maxResponseBytes?: number;
  /** When set, every endpoint but /healthz and the dashboard's static files requires `Authorization: Bearer <token>`. */
  apiToken?: string;
  /** What the app counts (default: nothing), and the registry `GET /metrics` serves (default: none, 404). */
  metrics?: ApiMetrics;
  registry?: Registry;
}

export function buildApp({
  store, finished, logger, bodyLimit = DEFAULT_BODY_LIMIT, maxArgsBytes = DEFAULT_MAX_ARGS_BYTES, maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES, apiToken, metrics = noApiMetrics, registry,
}: AppDependencies): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit,
    // No line per request (the top-level disableRequestLogging option is deprecated: FSTDEP023).
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    // A field of the wrong type is a client error, not something to convert ("name": 5 is refused).
    ajv: { customOptions: { coerceTypes: false } },
    // What Node's HTTP parser refuses is answered like any other error: status and {error, code}.
    clientErrorHandler: (error, socket) => answerClientError(error, socket, logger),
    // And so is what the router refuses before any route (a broken percent-encoding), in codes of the API's own.
    frameworkErrors: (error, request, reply) => {
      const { statusCode, body } = describeRouterError(error, request.url.split("?")[0]);
      // A generic reply (the option is typed for any route): this one has no schema.
      void (reply as unknown as FastifyReply).code(statusCode).send(body);
    },
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
  });

  // Only JSON bodies are accepted: anything else is answered 415.
  app.removeContentTypeParser("text/plain");

  if (apiToken) requireToken(app, apiToken);

  // Not even a hook when metrics are off: what they cost is measured against nothing at all.
  if (metrics !== noApiMetrics) {
    app.addHook("onResponse", async (request, reply) => {
      metrics.requestAnswered(request.routeOptions.url ?? "unmatched", reply.statusCode, reply.elapsedTime / 1000);
    });
  }

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const { statusCode, body } = describeError(error);
    if (body.code === "REDIS_UNAVAILABLE") metrics.redisError();
    if (statusCode === 413) await drainUpload(request.raw);
    if (statusCode >= 500 && statusCode !== 503) request.log.error({ err: error }, "request failed");
    if (statusCode === 503) void reply.header("retry-after", "1");
    if (error instanceof ApiError && error.retryAfter !== undefined) void reply.header("retry-after", String(error.retryAfter));
    return reply.code(statusCode).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `there is no route ${request.method} ${request.url.split("?")[0]}`, code: "ROUTE_NOT_FOUND" } satisfies ErrorBody),
  );

  const reader = new ClusterReader(store.redis, store.keys);
  metrics.observe({ taskCounts: () => reader.taskCounts() });

  // The OpenAPI document is made of the routes registered after this: before every route plugin.
  void app.register(fastifySwagger, openApiOptions({ tokenRequired: Boolean(apiToken) }));
  void app.register(functionRoutes, { store });
  void app.register(taskRoutes, { store, finished, maxArgsBytes, maxResponseBytes, metrics });
  void app.register(resultRoutes, { store, finished, maxResponseBytes });
  void app.register(statusRoutes, { reader });
  void app.register(dashboardRoutes);
  if (registry) void app.register(metricsRoutes, { registry });
  void app.register(healthRoutes, { redis: store.redis });
  void app.register(docsRoutes);
  return app;
}
