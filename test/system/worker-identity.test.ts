/**
 * A worker is its session (issue 14, defects 1 and 2): a peer that reuses a dead worker's shown
 * id without saying hello is no one, and a registered worker cannot record or start a task it
 * was not given. Real dispatcher, real workers, raw DEALER peers speaking the protocol.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Dealer } from "zeromq";
import { waitFor } from "../../harness/wait.js";
import { serialize } from "../../system/client/index.js";
import { decodeDispatcherMessage, encode, type DispatcherMessage, type WorkerMessage } from "../../system/protocol/messages.js";
import { findLogged } from "../support/logs.js";
import { useCluster, waitForStatus } from "../support/cluster.js";

const WORKER_TOKEN = "identity-test-token";

/** A raw peer on the worker link: it sends what it is told and keeps every message it receives. */
class Peer {
  readonly socket: Dealer;
  readonly received: DispatcherMessage[] = [];

  constructor(endpoint: string, routingId?: string) {
    const socket = new Dealer({ linger: 0, ...(routingId === undefined ? {} : { routingId }) });
    socket.connect(endpoint);
    this.socket = socket;
    void (async () => {
      try {
        for await (const [frame] of socket) this.received.push(decodeDispatcherMessage(frame));
      } catch {
        /* closed */
      }
    })();
  }

  async send(message: WorkerMessage): Promise<void> {
    await this.socket.send(encode(message));
  }

  /** Waits for a message of this type (matching `where`), failing with what was awaited. */
  async next<T extends DispatcherMessage["type"]>(type: T, what: string, where: (message: Extract<DispatcherMessage, { type: T }>) => boolean = () => true) {
    return waitFor(() => this.received.find((message): message is Extract<DispatcherMessage, { type: T }> => message.type === type && where(message as never)), { what, timeoutMs: 10_000 });
  }

  close(): void {
    this.socket.close();
  }
}

describe("worker identity: a message counts only from the session that said hello, a result only from the worker given the task", () => {
  // Pull mode: a peer that registers and never asks is never sent a task of its own.
  const fx = useCluster({ mode: "pull", workers: { count: 1, executors: 1 }, workerToken: WORKER_TOKEN, dispatcher: { heartbeatMs: 200, heartbeatTolerance: 3 } });
  const peers: Peer[] = [];
  const peer = (routingId?: string) => {
    const created = new Peer(fx.cluster.dispatcherEndpoint, routingId);
    peers.push(created);
    return created;
  };
  /** The cluster's own worker, once GET /cluster shows it (the rogue peers are named otherwise). */
  const realWorker = () => waitFor(async () => (await fx.client.cluster()).workers.find((worker) => !["rogue", "impostor"].includes(worker.id)),
    { what: "GET /cluster to show the cluster's worker" });
  afterEach(() => {
    for (const created of peers.splice(0)) created.close();
  });

  it("a registered worker's forged start and result of a task another worker runs are refused: the real result is the one recorded", async () => {
    const real = await realWorker();
    const busy = await fx.client.registerSource("(ms) => { const end = Date.now() + ms; while (Date.now() < end); return 'real'; }", "busy");
    const taskId = await fx.client.executeWith(busy, [3000]);
    await waitForStatus(fx.client, taskId, "RUNNING");

    const rogue = peer();
    await rogue.send({ type: "hello", workerId: "rogue", mode: "pull", capacity: 1, token: WORKER_TOKEN, held: [] });
    await rogue.next("welcome", "the rogue worker (it has the token) to be welcomed");
    await rogue.send({ type: "started", taskId });
    await rogue.send({ type: "result", taskId, status: "COMPLETED", result: serialize("forged"), executor: "rogue" });
    // Acknowledged (so that a confused worker forgets it), but not recorded: one connection keeps its order, so the start was refused first.
    await rogue.next("ack", "the forged result to be acknowledged", (ack) => ack.taskId === taskId);
    expect(await fx.client.status(taskId)).toBe("RUNNING");

    // A hello naming the real worker, from another connection, is not that worker.
    const impostor = peer();
    await impostor.send({ type: "hello", workerId: real.id, mode: "pull", capacity: 1, token: WORKER_TOKEN, held: [taskId] });
    const refused = await impostor.next("refused", "a hello naming a connected worker to be refused");
    expect(refused.reason).toMatch(/connected already/);

    expect((await fx.client.result(taskId, { wait: 15 })).value).toBe("real");
    const record = await fx.client.task(taskId);
    expect(record).toMatchObject({ status: "COMPLETED", worker: real.id, attempts: 1 });
    expect(record.executor).not.toBe("rogue");
    const log = fx.cluster.logFile("dispatcher");
    expect(findLogged(log, "message refused: a start of a task given to another worker", { workerId: "rogue", taskId })).toHaveLength(1);
    expect(findLogged(log, "message refused: a result of a task given to another worker", { workerId: "rogue", taskId })).toHaveLength(1);
  });

  it("a peer reusing a dead worker's shown id, without hello or token, is told it is unknown, never sent a task, and its forged result is refused", async () => {
    const dead = await realWorker();
    await fx.cluster.kill("worker-0");
    // Connected under the id GET /cluster showed, beating as the worker did.
    const ghost = peer(dead.id);
    const beating = setInterval(() => void ghost.send({ type: "heartbeat", running: [] }).catch(() => {}), 100);
    try {
      await ghost.next("unknown", "the ghost's heartbeats to be answered `unknown`");
      await waitFor(async () => (await fx.client.cluster()).workers.length === 0, { what: "the killed worker to leave GET /cluster while the ghost beats", timeoutMs: 10_000 });

      const double = await fx.client.registerSource("(x) => 2 * x", "double");
      const taskId = await fx.client.executeWith(double, [21]);
      await ghost.send({ type: "result", taskId, status: "COMPLETED", result: serialize(-1), executor: "ghost" });
      await waitFor(() => findLogged(fx.cluster.logFile("dispatcher"), "message refused: a result from a peer that has not said hello on this connection", { taskId }).length > 0,
        { what: "the ghost's forged result to be refused and logged" });
      expect(await fx.client.status(taskId)).toBe("QUEUED");

      await fx.cluster.startWorker({ token: WORKER_TOKEN });
      expect((await fx.client.result(taskId, { wait: 15 })).value).toBe(42);
      expect((await fx.client.task(taskId)).executor).not.toBe("ghost");
      expect(ghost.received.filter((message) => message.type === "task" || message.type === "ack")).toEqual([]);
    } finally {
      clearInterval(beating);
    }
  });
});
