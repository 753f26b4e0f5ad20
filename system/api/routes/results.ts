/** GET /result/:task_id (one task's outcome) and POST /results (many), each optionally waiting for the task to finish. */
import type { FastifyPluginAsyncJsonSchemaToTs } from "@fastify/type-provider-json-schema-to-ts";
import { ApiError } from "../errors.js";
import { checkResponseSize, readOutcomes, waitMsOf, type OutcomeSources } from "../outcomes.js";
import * as schemas from "../schemas.js";

export interface ResultRoutesOptions extends OutcomeSources {
  /** Most bytes of results one answer may carry: past it, 413 RESPONSE_TOO_LARGE. */
  maxResponseBytes: number;
}

export const resultRoutes: FastifyPluginAsyncJsonSchemaToTs<{ Options: ResultRoutesOptions }> = async (app, { maxResponseBytes, ...sources }) => {
  app.get("/result/:task_id", { schema: schemas.getResult }, async (request, reply) => {
    const taskId = request.params.task_id.toLowerCase();
    const outcomes = await readOutcomes(sources, [taskId], waitMsOf(request.query.wait), reply.raw);
    checkResponseSize(outcomes, maxResponseBytes);
    return { task_id: taskId, status: outcomes[0].status, result: outcomes[0].result };
  });

  app.post("/results", { schema: schemas.getResults }, async (request, reply) => {
    const taskIds = request.body.task_ids.map((id) => id.toLowerCase());
    refuseDuplicates(taskIds);
    const waitMs = Math.round((request.body.wait ?? 0) * 1000);
    const outcomes = await readOutcomes(sources, taskIds, waitMs, reply.raw);
    checkResponseSize(outcomes, maxResponseBytes);
    return { results: taskIds.map((taskId, index) => ({ task_id: taskId, status: outcomes[index].status, result: outcomes[index].result })) };
  });
};

/** One id asked for twice would make one result count twice in the answer: a request names each task once. */
function refuseDuplicates(taskIds: readonly string[]): void {
  const seen = new Set<string>();
  for (const [index, taskId] of taskIds.entries()) {
    if (seen.has(taskId)) throw new ApiError("BAD_REQUEST", `invalid request: task_ids[${index}] (${taskId}) is named twice; name each task once`);
    seen.add(taskId);
  }
}
