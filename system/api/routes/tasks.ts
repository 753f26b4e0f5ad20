/**
 * Tasks: POST /execute_function and /execute_batch submit them (stored and queued in one
 * step), GET /status/:task_id and /tasks/:task_id read them.
 */
import type { FastifyPluginAsyncJsonSchemaToTs } from "@fastify/type-provider-json-schema-to-ts";
import { FunctionBusyError, type TaskStore } from "../../store/store.js";
import { ApiError, taskNotFound } from "../errors.js";
import type { ApiMetrics } from "../metrics.js";
import { argumentsRuntime, checkArgumentsFor, checkArgumentsSize } from "../payloads.js";
import { checkResponseSize, readOutcomes, waitMsOf, type OutcomeSources } from "../outcomes.js";
import * as schemas from "../schemas.js";
import type { Runtime } from "../../runtimes.js";

export interface TaskRoutesOptions extends OutcomeSources {
  store: TaskStore;
  /** Most bytes of results one answer may carry (execute_function?wait): past it, 413. */
  maxResponseBytes: number;
  /** Largest serialized arguments of one task, in bytes. */
  maxArgsBytes: number;
  metrics: ApiMetrics;
}

export const taskRoutes: FastifyPluginAsyncJsonSchemaToTs<{ Options: TaskRoutesOptions }> = async (app, { store, finished, maxArgsBytes, maxResponseBytes, metrics }) => {
  app.post("/execute_function", { schema: schemas.executeFunction }, async (request, reply) => {
    const { function_id: functionId, payload, deadline_ms: deadlineMs } = request.body;
    // Checked before anything is stored: a bad wait submits nothing.
    const waitMs = waitMsOf(request.query.wait);
    checkArgumentsSize(payload, maxArgsBytes);
    const given = argumentsRuntime(payload);
    checkArgumentsFor(await runtimeOf(store, functionId), given);
    const taskId = await submitting(() => store.submitTask(functionId.toLowerCase(), payload, deadlineMs));
    if (taskId === null) throw functionNotFound(functionId);
    metrics.tasksSubmitted(1);
    if (waitMs === 0) return reply.code(201).send({ task_id: taskId });
    // One request for the whole round trip: answered once the task is finished, or when the wait ends.
    // The task is accepted now: whatever happens while waiting, the answer is 201 with its id
    // (without the outcome, which the client then reads from /result), never an error a client
    // would take for a refusal and submit again.
    try {
      const [outcome] = await readOutcomes({ store, finished }, [taskId], waitMs, reply.raw);
      checkResponseSize([outcome], maxResponseBytes);
      return reply.code(201).send({ task_id: taskId, status: outcome.status, result: outcome.result });
    } catch (error) {
      request.log.warn({ taskId, err: error }, "the outcome of an accepted task could not be given with it: answered with its id alone");
      return reply.code(201).send({ task_id: taskId });
    }
  });

  app.post("/execute_batch", { schema: schemas.executeBatch }, async (request, reply) => {
    const { function_id: functionId, payloads, deadline_ms: deadlineMs } = request.body;
    if (store.maxUnfinished > 0 && payloads.length > store.maxUnfinished) {
      throw new ApiError("BAD_REQUEST", `a batch of ${payloads.length} tasks is more than one function may have unfinished (${store.maxUnfinished}, --max-unfinished-per-function): split it`);
    }
    // Every size first: a batch too large is refused before any payload is decoded.
    payloads.forEach((payload, index) => checkArgumentsSize(payload, maxArgsBytes, `payloads[${index}]`));
    const given = payloads.map((payload, index) => argumentsRuntime(payload, `payloads[${index}]`));
    const runtime = await runtimeOf(store, functionId);
    given.forEach((kind, index) => checkArgumentsFor(runtime, kind, `payloads[${index}]`));
    const taskIds = await submitting(() => store.submitTasks(functionId.toLowerCase(), payloads, deadlineMs));
    if (taskIds === null) throw functionNotFound(functionId);
    metrics.tasksSubmitted(taskIds.length);
    return reply.code(201).send({ task_ids: taskIds });
  });

  app.get("/status/:task_id", { schema: schemas.getStatus }, async (request) => {
    const taskId = request.params.task_id.toLowerCase();
    const status = await store.getStatus(taskId);
    if (status === null) throw taskNotFound(taskId);
    return { task_id: taskId, status };
  });

  app.get("/tasks/:task_id", { schema: schemas.getTask }, async (request) => {
    const taskId = request.params.task_id.toLowerCase();
    const task = await store.getTask(taskId);
    if (task === null) throw taskNotFound(taskId);
    return task;
  });
};

/** The runtime of the function a submission names (its arguments are checked for it); 404 when there is none. */
async function runtimeOf(store: TaskStore, functionId: string): Promise<Runtime> {
  const fn = await store.getFunction(functionId.toLowerCase());
  if (fn === null) throw functionNotFound(functionId);
  return fn.runtime;
}

function functionNotFound(functionId: string): ApiError {
  return new ApiError("FUNCTION_NOT_FOUND", `there is no function ${functionId}`);
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
