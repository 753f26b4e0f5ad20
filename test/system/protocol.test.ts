/** Both ends of the protocol against a peer that does not follow it. */
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { Dealer, Router } from "zeromq";
import { cliPath } from "../../harness/paths.js";
import { waitFor } from "../../harness/wait.js";
import { deserialize, serialize } from "../../system/client/index.js";
import { decodeWorkerMessage, encode, type WorkerMessage } from "../../system/protocol/messages.js";
import { useCluster } from "../support/cluster.js";

describe("garbage on the dispatcher's port", () => {
  const fx = useCluster({ mode: "push", workers: { count: 1, executors: 1 } });

  it("random frames, bad versions, extra frames, a huge frame and a silent peer leave it serving", async () => {
    const silent = new Dealer({ routingId: "silent-peer", linger: 0 });
    silent.connect(fx.cluster.dispatcherEndpoint);
    const noisy = new Dealer({ linger: 0 });
    noisy.connect(fx.cluster.dispatcherEndpoint);
    try {
      const junk: Buffer[][] = [
        [Buffer.from([0, 1, 2, 255, 254])],
        [Buffer.from("{")],
        [Buffer.from('{"v":99,"type":"hello"}')],
        [Buffer.from('{"v":1,"type":"result","taskId":"x"}')],
        [Buffer.from('{"v":1,"type":"hello","workerId":"x","mode":"push","capacity":-5,"running":[]}')],
        [Buffer.from("a"), Buffer.from("b"), Buffer.from("c")],
        [Buffer.alloc(0)],
        [Buffer.alloc(8 * 1024 * 1024, 120)],
      ];
      for (let round = 0; round < 20; round++) for (const frames of junk) await noisy.send(frames);
      expect(await fx.client.run((x: number) => x * 3, 14)).toBe(42);
      expect(fx.cluster.process("dispatcher")!.running).toBe(true);
    } finally {
      silent.close();
      noisy.close();
    }
  });

  it("a peer that never registered cannot record a result", async () => {
    const slow = await fx.client.register(async () => new Promise((resolve) => setTimeout(() => resolve("genuine"), 1000)));
    const taskId = await fx.client.execute(slow);
    const entryId = "0-1"; // a forger would have to guess it; what matters is that it is not registered
    const forger = new Dealer({ linger: 0 });
    forger.connect(fx.cluster.dispatcherEndpoint);
    try {
      await forger.send(encode({ type: "result", taskId, entryId, status: "COMPLETED", result: serialize("forged"), executor: "forger" }));
      const [reply] = await forger.receive();
      expect(JSON.parse(reply.toString())).toMatchObject({ type: "unknown" });
      expect(await fx.client.valueOf(taskId)).toBe("genuine");
    } finally {
      forger.close();
    }
  });
});

describe("a worker against a dispatcher that sends garbage", () => {
  it("drops what it cannot read, and runs the task it is then sent", async () => {
    const router = new Router({ linger: 0 });
    await router.bind("tcp://127.0.0.1:*");
    const worker = execa(process.execPath, [cliPath, "push-worker", "1", router.lastEndpoint!], { reject: false, buffer: false });
    const next = async (): Promise<[Buffer, WorkerMessage]> => {
      for (;;) {
        const [id, frame] = await router.receive();
        const message = decodeWorkerMessage(frame);
        if (message.type !== "heartbeat") return [id, message];
      }
    };
    try {
      const [id, hello] = await next();
      expect(hello).toMatchObject({ type: "hello", mode: "push", capacity: 1, running: [] });
      for (const junk of [Buffer.from("not json"), Buffer.from('{"v":1,"type":"task"}'), Buffer.from('{"v":7,"type":"ack","taskId":"x"}')]) {
        await router.send([id, junk]);
      }
      await router.send([id, encode({ type: "welcome", dispatcherId: "fake", heartbeatMs: 500, heartbeatTolerance: 3 })]);
      await router.send([id, encode({ type: "task", taskId: "t1", entryId: "1-0", functionId: "f1", source: "(a, b) => a + b", args: serialize([20, 22]), deadlineMs: 5000 })]);
      expect((await next())[1]).toEqual({ type: "started", taskId: "t1", entryId: "1-0" });
      const [, result] = await next();
      expect(result).toMatchObject({ type: "result", taskId: "t1", entryId: "1-0", status: "COMPLETED" });
      expect(deserialize((result as Extract<WorkerMessage, { type: "result" }>).result)).toBe(42);
      // Its one executor is busy with t2: t3 is handed back, as is a task whose source it was never sent.
      await router.send([id, encode({ type: "task", taskId: "t2", entryId: "2-0", functionId: "f2", source: "async () => new Promise((r) => setTimeout(r, 5000))", args: serialize([]), deadlineMs: 10_000 })]);
      expect((await next())[1]).toMatchObject({ type: "started", taskId: "t2" });
      await router.send([id, encode({ type: "task", taskId: "t3", entryId: "3-0", functionId: "f1", args: serialize([1, 2]), deadlineMs: 5000 })]);
      expect((await next())[1]).toEqual({ type: "rejected", taskId: "t3", entryId: "3-0", reason: "busy" });
      await router.send([id, encode({ type: "ack", taskId: "t1" })]);
      // Once acknowledged, the worker no longer reports holding the task.
      await waitFor(async () => {
        const [, frame] = await router.receive();
        const message = decodeWorkerMessage(frame);
        return message.type === "heartbeat" && !message.running.includes("t1") && message.running.includes("t2");
      }, { what: "a heartbeat that no longer lists the acknowledged task" });
      expect(worker.exitCode).toBeNull();
    } finally {
      worker.kill("SIGKILL");
      await worker;
      router.close();
    }
  });
});
