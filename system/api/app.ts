/**
 * The REST API, compatible with the MPCSFaaS course project. `buildApp` wires routes to a
 * store; `server.ts` owns the connections and the socket, so tests can use `inject`.
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply } from "fastify";
import type { Logger } from "../log.js";
import { CodecError } from "../codec/index.js";
import { decodeArgumentsPayload, decodeFunctionPayload, InvalidFunctionError } from "../codec/function.js";
import { isTerminal } from "../task.js";
import { FunctionBusyError, type TaskStore } from "../store/store.js";
import { isPublicRoute, registerClusterRoutes } from "./cluster.js";
import { ApiError, type ErrorBody } from "./errors.js";
import type { FinishedTasks } from "./finished-tasks.js";
import { noApiMetrics, type ApiMetrics } from "./metrics.js";
import type { Registry } from "prom-client";
import * as schemas from "./schemas.js";

export const DEFAULT_BODY_LIMIT = 16 * 1024 * 1024;
/** Largest serialized argument list of one task: it is stored in Redis and crosses to a worker. */
export const DEFAULT_MAX_ARGS_BYTES = 8 * 1024 * 1024;

export interface AppDependencies {
  store: TaskStore;
  finished: FinishedTasks;
  logger: Logger;
  /** Largest accepted request body, in bytes. */
  bodyLimit?: number;
  /** Largest serialized arguments of one task, in bytes. */
  maxArgsBytes?: number;
  /** When set, every endpoint but /healthz and the dashboard's static files requires `Authorization: Bearer <token>`. */
  apiToken?: string;
  /** What the app counts (default: nothing), and the registry `GET /metrics` serves (default: none, 404). */
  metrics?: ApiMetrics;
  registry?: Registry;
}

export function buildApp({
  store, finished, logger, bodyLimit = DEFAULT_BODY_LIMIT, maxArgsBytes = DEFAULT_MAX_ARGS_BYTES, apiToken, metrics = noApiMetrics, registry,
}: AppDependencies): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit,
    // No line per request (the top-level disableRequestLogging option is deprecated: FSTDEP023).
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    // A field of the wrong type is a client error, not something to convert ("name": 5 is refused).
    ajv: { customOptions: { coerceTypes: false } },
  });

  // Only JSON bodies are accepted: anything else is answered 415.
  app.removeContentTypeParser("text/plain");

  if (apiToken) {
    const expected = Buffer.from(`Bearer ${apiToken}`);
    app.addHook("onRequest", async (request, reply) => {
      if (request.url === "/healthz" || isPublicRoute(request.routeOptions.config)) return;
      const given = Buffer.from(request.headers.authorization ?? "");
      // Constant time: the comparison takes as long whatever the prefix that matches.
      if (given.length === expected.length && timingSafeEqual(given, expected)) return;
      return reply.code(401).header("www-authenticate", "Bearer").send({ error: "this API requires Authorization: Bearer <token>", code: "UNAUTHORIZED" } satisfies ErrorBody);
    });
  }

  // Not even a hook when metrics are off: what they cost is measured against nothing at all.
  if (metrics !== noApiMetrics) {
    app.addHook("onResponse", async (request, reply) => {
      metrics.requestAnswered(request.routeOptions.url ?? "unmatched", reply.statusCode, reply.elapsedTime / 1000);
    });
  }

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const { statusCode, body } = describeError(error, store);
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

  app.post<{ Body: { name: string; payload: string } }>("/register_function", { schema: schemas.registerFunction }, async (request, reply) => {
    const source = decodePayload(() => decodeFunctionPayload(request.body.payload), "INVALID_FUNCTION");
    const functionId = await store.registerFunction(request.body.name, source);
    return reply.code(201).send({ function_id: functionId });
  });

  app.post<{ Body: { function_id: string; payload: string; deadline_ms?: number } }>(
    "/execute_function", { schema: schemas.executeFunction },
    async (request, reply) => {
      const { function_id: functionId, payload, deadline_ms: deadlineMs } = request.body;
      checkArgumentsSize(payload, maxArgsBytes);
      decodePayload(() => decodeArgumentsPayload(payload), "INVALID_ARGUMENTS");
      const taskId = await submitting(() => store.submitTask(functionId.toLowerCase(), payload, deadlineMs));
      if (taskId === null) throw new ApiError("FUNCTION_NOT_FOUND", `there is no function ${functionId}`);
      metrics.tasksSubmitted(1);
      return reply.code(201).send({ task_id: taskId });
    },
  );

  app.post<{ Body: { function_id: string; payloads: string[]; deadline_ms?: number } }>(
    "/execute_batch", { schema: schemas.executeBatch },
    async (request, reply) => {
      const { function_id: functionId, payloads, deadline_ms: deadlineMs } = request.body;
      if (store.maxUnfinished > 0 && payloads.length > store.maxUnfinished) {
        throw new ApiError("BAD_REQUEST", `a batch of ${payloads.length} tasks is more than one function may have unfinished (${store.maxUnfinished}, --max-unfinished-per-function): split it`);
      }
      payloads.forEach((payload, index) => checkArgumentsSize(payload, maxArgsBytes, `payloads[${index}]`));
      payloads.forEach((payload, index) => decodePayload(() => decodeArgumentsPayload(payload), "INVALID_ARGUMENTS", `payloads[${index}]`));
      const taskIds = await submitting(() => store.submitTasks(functionId.toLowerCase(), payloads, deadlineMs));
      if (taskIds === null) throw new ApiError("FUNCTION_NOT_FOUND", `there is no function ${functionId}`);
      metrics.tasksSubmitted(taskIds.length);
      return reply.code(201).send({ task_ids: taskIds });
    },
  );

  app.post<{ Body: { task_ids: string[]; wait?: number } }>("/results", { schema: schemas.getResults }, async (request, reply) => {
    const taskIds = request.body.task_ids.map((id) => id.toLowerCase());
    const waitMs = Math.round((request.body.wait ?? 0) * 1000);
    // Register before reading, as for one result; a wait ends when every task is done or the time is up.
    const waiters = waitMs > 0 ? taskIds.map((taskId) => finished.wait(taskId, waitMs)) : [];
    reply.raw.once("close", () => waiters.forEach((waiter) => waiter.cancel()));
    try {
      const outcomes = await store.getOutcomes(taskIds);
      const unknown = outcomes.findIndex((outcome) => outcome === null);
      if (unknown >= 0) throw taskNotFound(taskIds[unknown]);
      await Promise.all(waiters.map(async (waiter, index) => {
        if (isTerminal(outcomes[index]!.status)) return waiter.cancel();
        const published = await waiter.finished;
        outcomes[index] = published ?? (await store.getOutcome(taskIds[index]));
      }));
      return { results: taskIds.map((taskId, index) => ({ task_id: taskId, status: outcomes[index]!.status, result: outcomes[index]!.result })) };
    } finally {
      for (const waiter of waiters) waiter.cancel();
    }
  });

  app.get<{ Params: { task_id: string } }>("/status/:task_id", { schema: schemas.getStatus }, async (request) => {
    const taskId = request.params.task_id.toLowerCase();
    const status = await store.getStatus(taskId);
    if (status === null) throw taskNotFound(taskId);
    return { task_id: taskId, status };
  });

  app.get<{ Params: { task_id: string }; Querystring: { wait?: string } }>("/result/:task_id", { schema: schemas.getResult }, async (request, reply) => {
    const taskId = request.params.task_id.toLowerCase();
    const waitMs = Math.round(Number(request.query.wait ?? 0) * 1000);
    if (!(waitMs <= schemas.MAX_WAIT_SECONDS * 1000)) {
      throw new ApiError("BAD_REQUEST", `invalid request: wait must be at most ${schemas.MAX_WAIT_SECONDS} seconds`);
    }
    if (waitMs === 0) return resultBody(taskId, await store.getOutcome(taskId));
    // Register before reading, so a task finishing in between still wakes this request.
    const waiter = finished.wait(taskId, waitMs);
    // A client that goes away stops its wait (the response closes with its connection).
    reply.raw.once("close", waiter.cancel);
    try {
      const outcome = await store.getOutcome(taskId);
      if (outcome === null || isTerminal(outcome.status)) return resultBody(taskId, outcome);
      const published = await waiter.finished;
      return resultBody(taskId, published ?? (await store.getOutcome(taskId)));
    } finally {
      waiter.cancel();
    }
  });

  app.get<{ Params: { task_id: string } }>("/tasks/:task_id", { schema: schemas.getTask }, async (request) => {
    const taskId = request.params.task_id.toLowerCase();
    const task = await store.getTask(taskId);
    if (task === null) throw taskNotFound(taskId);
    return task;
  });

  registerClusterRoutes(app, store);

  if (registry) {
    // Behind the token like every endpoint but /healthz: the figures describe the cluster's work.
    app.get("/metrics", async (_request, reply) => reply.header("content-type", registry.contentType).send(await registry.metrics()));
  }

  app.get("/healthz", async (_request, reply: FastifyReply) => {
    try {
      await store.redis.ping();
      return { status: "ok" };
    } catch {
      return reply.code(503).header("retry-after", "1").send({ error: "Redis is unreachable", code: "REDIS_UNAVAILABLE" } satisfies ErrorBody);
    }
  });

  return app;
}

/** How much of an oversized upload is read and thrown away so that its client sees the 413. */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;
const DRAIN_TIMEOUT_MS = 10_000;

/**
 * Reads the rest of a refused upload before answering. Closing a socket with unread data
 * makes the kernel send a reset, and the client then loses the 413 while still writing
 * (the "lingering close" problem). Past the limits the upload is cut off.
 */
function drainUpload(stream: IncomingMessage): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let received = 0;
    const finish = () => {
      clearTimeout(timer);
      stream.off("data", count);
      resolve();
    };
    const giveUp = () => {
      stream.destroy();
      finish();
    };
    const count = (chunk: Buffer) => {
      received += chunk.length;
      if (received > DRAIN_LIMIT_BYTES) giveUp();
    };
    const timer = setTimeout(giveUp, DRAIN_TIMEOUT_MS);
    stream.on("data", count);
    stream.once("end", finish);
    stream.once("error", finish);
    stream.resume();
  });
}

function checkArgumentsSize(payload: string, maxArgsBytes: number, field = "payload"): void {
  const size = Buffer.byteLength(payload);
  if (size > maxArgsBytes) {
    throw new ApiError("ARGUMENTS_TOO_LARGE", `${field} is ${size} bytes; the arguments of a task may take at most ${maxArgsBytes} (--max-args-bytes)`);
  }
}

/** Runs a submission, turning the function's backpressure bound into 429 with Retry-After. */
async function submitting<T>(submit: () => Promise<T>): Promise<T> {
  try {
    return await submit();
  } catch (error) {
    if (error instanceof FunctionBusyError) throw new ApiError("FUNCTION_BUSY", error.message, 1);
    throw error;
  }
}

function resultBody(taskId: string, outcome: Awaited<ReturnType<TaskStore["getOutcome"]>>) {
  if (outcome === null) throw taskNotFound(taskId);
  return { task_id: taskId, status: outcome.status, result: outcome.result };
}

function taskNotFound(taskId: string): ApiError {
  return new ApiError("TASK_NOT_FOUND", `there is no task ${taskId}`);
}

function decodePayload<T>(decode: () => T, code: "INVALID_FUNCTION" | "INVALID_ARGUMENTS", field = "payload"): T {
  try {
    return decode();
  } catch (error) {
    if (error instanceof InvalidFunctionError || error instanceof CodecError) throw new ApiError(code, `invalid ${field}: ${error.message}`);
    throw error;
  }
}

const FASTIFY_CODES: Record<string, { statusCode: number; code: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { statusCode: 400, code: "INVALID_JSON" },
  FST_ERR_CTP_EMPTY_JSON_BODY: { statusCode: 400, code: "INVALID_JSON" },
  FST_ERR_CTP_BODY_TOO_LARGE: { statusCode: 413, code: "BODY_TOO_LARGE" },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { statusCode: 415, code: "UNSUPPORTED_MEDIA_TYPE" },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { statusCode: 400, code: "BAD_REQUEST" },
};

function describeError(error: FastifyError, store: TaskStore): { statusCode: number; body: ErrorBody } {
  if (error instanceof ApiError) return { statusCode: error.statusCode, body: { error: error.message, code: error.code } };
  if (error.validation) return { statusCode: 400, body: { error: `invalid request: ${error.message}`, code: "BAD_REQUEST" } };
  const known = error.code ? FASTIFY_CODES[error.code] : undefined;
  if (known) return { statusCode: known.statusCode, body: { error: error.message, code: known.code } };
  if (error instanceof SyntaxError) return { statusCode: 400, body: { error: `malformed JSON: ${error.message}`, code: "INVALID_JSON" } };
  if (store.redis.status !== "ready" || /timed out|Connection is closed|enableOfflineQueue|max retries/i.test(error.message)) {
    return { statusCode: 503, body: { error: "Redis is unreachable; try again shortly", code: "REDIS_UNAVAILABLE" } };
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return { statusCode: error.statusCode, body: { error: error.message, code: error.code ?? "BAD_REQUEST" } };
  }
  return { statusCode: 500, body: { error: "internal error", code: "INTERNAL" } };
}
