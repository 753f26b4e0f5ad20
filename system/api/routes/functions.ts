/** POST /register_function: a function (JavaScript source, or a Python pickle or source), checked and stored with its runtime. */
import type { FastifyPluginAsyncJsonSchemaToTs } from "@fastify/type-provider-json-schema-to-ts";
import type { TaskStore } from "../../store/store.js";
import { registeredFunction } from "../payloads.js";
import * as schemas from "../schemas.js";

export const functionRoutes: FastifyPluginAsyncJsonSchemaToTs<{ Options: { store: TaskStore } }> = async (app, { store }) => {
  app.post("/register_function", { schema: schemas.registerFunction }, async (request, reply) => {
    const { source, runtime } = registeredFunction(request.body.payload, request.body.runtime);
    const functionId = await store.registerFunction(request.body.name, source, runtime);
    return reply.code(201).send({ function_id: functionId });
  });
};
