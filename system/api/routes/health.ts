/** GET /healthz: 200 while Redis answers, 503 otherwise; served without the token, for load balancers and probes. */
import type { FastifyPluginAsync } from "fastify";
import type { Redis } from "ioredis";
import type { ErrorBody } from "../errors.js";
import * as schemas from "../schemas.js";

export const healthRoutes: FastifyPluginAsync<{ redis: Redis }> = async (app, { redis }) => {
  app.get("/healthz", { schema: schemas.getHealth }, async (_request, reply) => {
    try {
      await redis.ping();
      return { status: "ok" };
    } catch {
      return reply.code(503).header("retry-after", "1").send({ error: "Redis is unreachable", code: "REDIS_UNAVAILABLE" } satisfies ErrorBody);
    }
  });
};
