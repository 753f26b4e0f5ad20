/** GET /result/:task_id (one task's outcome) and POST /results (many), each optionally waiting for the task to finish. */
import type { FastifyPluginAsyncJsonSchemaToTs } from "@fastify/type-provider-json-schema-to-ts";
import { ApiError } from "../errors.js";
import { MAX_WAIT_SECONDS } from "../limits.js";
import { readOutcomes, type OutcomeSources } from "../outcomes.js";
import * as schemas from "../schemas.js";

export const resultRoutes: FastifyPluginAsyncJsonSchemaToTs<{ Options: OutcomeSources }> = async (app, sources) => {
  app.get("/result/:task_id", { schema: schemas.getResult }, async (request, reply) => {
    const taskId = request.params.task_id.toLowerCase();
    const waitMs = Math.round(Number(request.query.wait ?? 0) * 1000);
    if (!(waitMs <= MAX_WAIT_SECONDS * 1000)) {
      throw new ApiError("BAD_REQUEST", `invalid request: wait must be at most ${MAX_WAIT_SECONDS} seconds`);
    }
    const [outcome] = await readOutcomes(sources, [taskId], waitMs, reply.raw);
    return { task_id: taskId, status: outcome.status, result: outcome.result };
  });

  app.post("/results", { schema: schemas.getResults }, async (request, reply) => {
    const taskIds = request.body.task_ids.map((id) => id.toLowerCase());
    const waitMs = Math.round((request.body.wait ?? 0) * 1000);
    const outcomes = await readOutcomes(sources, taskIds, waitMs, reply.raw);
    return { results: taskIds.map((taskId, index) => ({ task_id: taskId, status: outcomes[index].status, result: outcomes[index].result })) };
  });
};
