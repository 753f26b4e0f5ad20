/**
 * A failed request is answered by what failed, not by the state of the Redis connection at
 * that moment: a programming error is a 500 with its log line even while Redis is down, and
 * a command that could not reach Redis is a 503.
 */
import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../system/api/app.js";
import { FinishedTasks } from "../../system/api/finished-tasks.js";
import { TaskStore } from "../../system/store/store.js";
import { waitFor } from "../../harness/wait.js";
import { useRedis } from "../support/redis.js";

const redis = useRedis();

function apiOnRedis() {
  const store = new TaskStore(redis.connect("serving"), { prefix: `t-${randomUUID().slice(0, 8)}:` });
  const lines: Record<string, any>[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const app = buildApp({ store, finished: new FinishedTasks(redis.connect("working"), store.keys.finishedChannel), logger });
  // A handler with a bug, as any route could have one.
  app.get("/bug", async () => (undefined as unknown as { missing(): string }).missing());
  return { app, store, lines };
}

describe("API errors", () => {
  it("a handler's TypeError is a 500 with its log line, whether Redis is up or down; a Redis command that cannot be sent is a 503", async () => {
    const { app, store, lines } = apiOnRedis();
    const unknownTask = `/status/${randomUUID()}`;
    // A serving connection has no offline queue: until it is ready, commands fail (503).
    await waitFor(() => store.redis.status === "ready", { what: "the API's Redis connection to be ready" });
    expect((await app.inject({ method: "GET", url: unknownTask })).statusCode).toBe(404);
    const up = await app.inject({ method: "GET", url: "/bug" });
    expect([up.statusCode, up.json()]).toEqual([500, { error: "internal error", code: "INTERNAL" }]);

    await redis.server.managed!.stop();
    try {
      await waitFor(() => store.redis.status !== "ready", { what: "the API's Redis connection to notice Redis is gone" });
      lines.length = 0;
      const bug = await app.inject({ method: "GET", url: "/bug" });
      // Still down while the bug was answered: the connection's state did not decide the answer.
      expect(store.redis.status).not.toBe("ready");
      expect([bug.statusCode, bug.json()]).toEqual([500, { error: "internal error", code: "INTERNAL" }]);
      expect(bug.headers["retry-after"]).toBeUndefined();
      expect(lines).toContainEqual(expect.objectContaining({ msg: "request failed", err: expect.objectContaining({ type: "TypeError" }) }));

      const unreachable = await app.inject({ method: "GET", url: unknownTask });
      expect([unreachable.statusCode, unreachable.json()]).toEqual([503, { error: "Redis is unreachable; try again shortly", code: "REDIS_UNAVAILABLE" }]);
      expect(unreachable.headers["retry-after"]).toBe("1");
      // A 503 is expected while Redis is away: no error line for it.
      expect(lines.filter((line) => line.msg === "request failed")).toHaveLength(1);
    } finally {
      await redis.server.start();
    }
    await waitFor(async () => (await app.inject({ method: "GET", url: unknownTask })).statusCode === 404, { what: "the API to reach the restarted Redis" });
    await app.close();
  });
});
