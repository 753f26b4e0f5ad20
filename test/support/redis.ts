/** A redis-server of the test file's own, started by faaslab's launcher and always stopped. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import type { Redis } from "ioredis";
import { RedisServer } from "../../system/launcher/redis.js";
import { connectRedis } from "../../system/store/redis.js";

export interface RedisFixture {
  server: RedisServer;
  url: string;
  /** Opens a connection that is closed after the file's tests. */
  connect(role?: "serving" | "working"): Redis;
}

export function useRedis(): RedisFixture {
  const dir = mkdtempSync(join(tmpdir(), "faaslab-redis-"));
  const connections: Redis[] = [];
  const fixture: RedisFixture = {
    server: new RedisServer({ dir }),
    url: "",
    connect(role = "working") {
      const connection = connectRedis(fixture.url, role);
      connections.push(connection);
      return connection;
    },
  };
  beforeAll(async () => {
    await fixture.server.start();
    fixture.url = fixture.server.url;
  });
  afterAll(async () => {
    for (const connection of connections) connection.disconnect();
    await fixture.server.managed?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return fixture;
}
