/**
 * Hostile functions end to end through a live local-mode cluster: escapes, loops, memory bombs
 * and import() leave the dispatcher serving, and its executor host has none of its environment
 * and is replaced when killed (the attacks and their checks are those of isolation.pool.test.ts).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { waitFor } from "../../harness/wait.js";
import { HOST_FILE } from "../../system/executor/permissions.js";
import { useCluster, waitForStatus } from "../support/cluster.js";
import { SECRET, scratch, hostile, cpuMs, childrenOf, environOf, startEnvironment, cmdlineOf, useIsolationScratch } from "../support/isolation.js";

useIsolationScratch();

describe("hostile functions against a live local-mode cluster", () => {
  const fx = useCluster({ mode: "local", executors: 2 });

  async function failure(taskId: string): Promise<Error> {
    const outcome = await fx.client.result(taskId, { wait: 30 });
    expect(outcome.status).toBe("FAILED");
    return outcome.value as Error;
  }

  it("escapes, loops, memory bombs and import() leave the dispatcher serving, end to end", async () => {
    const dispatcherPid = fx.cluster.process("dispatcher")!.pid!;
    const marker = join(scratch, "cluster.marker");
    const escape = await fx.client.registerSource(hostile(`
      const probes = [reach(this.constructor.constructor), reach(({}).constructor.constructor), reach(caught(() => null.x).constructor.constructor)];
      const dive = (n) => { try { dive(n + 1) } catch {} try { clearTimeout(1) } catch (error) { probes.push(isHost(error) ? "HOST-REACHED" : "blocked") } };
      dive(0);
      return [...new Set(probes)];`), "escape");
    const loop = await fx.client.registerSource("() => { for (;;) {} }", "loop");
    const bomb = await fx.client.registerSource("() => { const a = []; for (;;) a.push({ n: a.length }) }", "bomb");
    await expect(fx.client.registerSource("async () => import('node:child_process')", "importer")).rejects.toMatchObject({ status: 400, code: "INVALID_FUNCTION" });

    const [escapeId, loopId, bombId] = await Promise.all([
      fx.client.execute(escape, marker),
      fx.client.executeWith(loop, [], { deadlineMs: 1000 }),
      fx.client.execute(bomb),
    ]);
    const escaped = await fx.client.result(escapeId, { wait: 30 });
    expect(escaped.status).toBe("COMPLETED");
    expect(escaped.value).toEqual(["blocked"]);
    expect((await failure(loopId)).name).toBe("DeadlineExceeded");
    expect((await failure(bombId)).name).toBe("ResourceLimitExceeded");
    expect(existsSync(marker)).toBe(false);

    expect(await fx.client.run((x: number) => x + 1, 41)).toBe(42);
    expect(fx.cluster.process("dispatcher")!.pid).toBe(dispatcherPid);
  });

  it("the dispatcher's executor host has none of its environment, and when killed it is replaced", async () => {
    const dispatcherPid = fx.cluster.process("dispatcher")!.pid!;
    const hostOf = () => childrenOf(dispatcherPid).find((pid) => cmdlineOf(pid).includes(HOST_FILE));
    const host = await waitFor(hostOf, { what: "the dispatcher's executor host" });
    expect(environOf(dispatcherPid)).toContain(SECRET);
    expect(startEnvironment(host)).toEqual([]);

    const spin = await fx.client.registerSource("() => { for (;;) {} }", "spin");
    const cpuBefore = cpuMs(host);
    const taskId = await fx.client.executeWith(spin, [], { deadlineMs: 60_000 });
    await waitForStatus(fx.client, taskId, "RUNNING");
    await waitFor(() => cpuMs(host) > cpuBefore + 300, { what: "the host to run the spinning task" });
    process.kill(host, "SIGKILL");
    expect((await failure(taskId)).name).toBe("ExecutorCrashed");

    expect(await fx.client.run((x: number) => x * 3, 14)).toBe(42);
    const replacement = await waitFor(hostOf, { what: "a new executor host" });
    expect(replacement).not.toBe(host);
    expect(startEnvironment(replacement)).toEqual([]);
  });
});
