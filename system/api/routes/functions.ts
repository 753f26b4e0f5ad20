/** POST /register_function: a function's source, checked and stored. */
import type { FastifyPluginAsyncJsonSchemaToTs } from "@fastify/type-provider-json-schema-to-ts";
import type { TaskStore } from "../../store/store.js";
import { functionSource } from "../payloads.js";
import * as schemas from "../schemas.js";

export const functionRoutes: FastifyPluginAsyncJsonSchemaToTs<{ Options: { store: TaskStore } }> = async (app, { store }) => {
  app.post("/register_function", { schema: schemas.registerFunction }, async (request, reply) => {
    const source = functionSource(request.body.payload);
    const functionId = await store.registerFunction(request.body.name, source);
    return reply.code(201).send({ function_id: functionId });
  });
};
