/** GET /cluster: the cluster's status snapshot, read from Redis, where the dispatchers publish their part. */
import type { FastifyPluginAsync } from "fastify";
import type { ClusterReader } from "../../status/read.js";
import * as schemas from "../schemas.js";

export const statusRoutes: FastifyPluginAsync<{ reader: ClusterReader }> = async (app, { reader }) => {
  app.get("/cluster", { schema: schemas.getCluster }, async () => reader.read());
};
