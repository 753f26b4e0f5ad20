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
        [encode({ type: "result", taskId: "00000000-0000-0000-0000-000000000000", entryId: "0-1", status: "COMPLETED", result: "[1]", executor: "forged" })],
      ];
      for (let round = 0; round < 20; round++) for (const frames of junk) await noisy.send(frames);
      expect(await fx.client.run((x: number) => x * 3, 14)).toBe(42);
      expect(fx.cluster.process("dispatcher")!.running).toBe(true);
    } finally {
      silent.close();
      noisy.close();
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
      await router.send([id, encode({ type: "ack", taskId: "t1" })]);
      // Once acknowledged, the worker no longer reports holding the task.
      await waitFor(async () => {
        const [, frame] = await router.receive();
        const message = decodeWorkerMessage(frame);
        return message.type === "heartbeat" && message.running.length === 0;
      }, { what: "a heartbeat that no longer lists the task" });
      expect(worker.exitCode).toBeNull();
    } finally {
      worker.kill("SIGKILL");
      await worker;
      router.close();
    }
  });
});
