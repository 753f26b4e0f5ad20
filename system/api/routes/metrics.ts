/** GET /metrics: the API process's Prometheus metrics, behind the token like every endpoint but /healthz (the figures describe the cluster's work). */
import type { FastifyPluginAsync } from "fastify";
import type { Registry } from "prom-client";
import * as schemas from "../schemas.js";

export const metricsRoutes: FastifyPluginAsync<{ registry: Registry }> = async (app, { registry }) => {
  app.get("/metrics", { schema: schemas.getMetrics }, async (_request, reply) => reply.header("content-type", registry.contentType).send(await registry.metrics()));
};
