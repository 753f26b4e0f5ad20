/** Both ends of the protocol against a peer that does not follow it, with and without CURVE. */
import { randomBytes } from "node:crypto";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { Dealer, Router, type EventType } from "zeromq";
import { cliPath } from "../../system/paths.js";
import { waitFor } from "../../harness/wait.js";
import { deserialize, serialize, TaskFailedError } from "../../system/client/index.js";
import { addToAllowlist, generateKeyPair } from "../../system/protocol/curve.js";
import { decodeWorkerMessage, encode, PROTOCOL_VERSION, type WorkerMessage } from "../../system/protocol/messages.js";
import { findLogged } from "../support/logs.js";
import { useCluster, type ClusterFixture } from "../support/cluster.js";

/** The dispatchers here accept messages of up to 1 MiB (the default is 64 MiB), so that "oversized" is cheap to send. */
const MAX_MESSAGE_BYTES = 1024 * 1024;

const validMessages: Buffer[] = [
  encode({ type: "hello", workerId: "garbage-peer", mode: "push", capacity: 4, held: ["t1"] }),
  encode({ type: "result", taskId: "t1", status: "COMPLETED", result: serialize({ answer: 42 }), executor: "x/thread-1" }),
  encode({ type: "heartbeat", running: ["t1", "t2"] }),
  encode({ type: "request", idle: 3 }),
];

/** Frames that are not messages: random bytes, wrong versions and fields, extra frames, and valid messages cut short. */
const junkFrames: Buffer[][] = [
  [Buffer.from([0, 1, 2, 255, 254])],
  [randomBytes(1000)],
  [Buffer.from("{")],
  [Buffer.from('{"v":99,"type":"hello"}')],
  [Buffer.from(`{"v":${PROTOCOL_VERSION},"type":"result","taskId":"x"}`)],
  [Buffer.from(`{"v":${PROTOCOL_VERSION},"type":"hello","workerId":"x","mode":"push","capacity":-5,"held":[]}`)],
  // A version-1 message (it carried the queue entry's id), from a worker not upgraded.
  [Buffer.from('{"v":1,"type":"started","taskId":"x","entryId":"1-0"}')],
  [Buffer.from("a"), Buffer.from("b"), Buffer.from("c")],
  [Buffer.alloc(0)],
  // Large, under the limit: it reaches the decoder, which drops it.
  [Buffer.alloc(MAX_MESSAGE_BYTES / 2, 120)],
  // Truncated: each valid message cut at a quarter, a half and one byte short of its end.
  ...validMessages.flatMap((message) => [0.25, 0.5].map((part) => [message.subarray(0, Math.floor(message.length * part))]).concat([[message.subarray(0, message.length - 1)]])),
];

/** Resolves when a socket reports one of these events; the caller bounds the wait. */
function eventSeen(socket: Dealer, types: EventType[]): () => EventType | undefined {
  let seen: EventType | undefined;
  for (const type of types) socket.events.on(type, () => (seen ??= type));
  return () => seen;
}

// --- raw TCP: what a peer that is not ZeroMQ at all can send ----------------------------------

/** A ZMTP 3.0 greeting (RFC 23): signature, version, mechanism, as-server, filler; 64 bytes. */
function greeting(mechanism: "NULL" | "CURVE"): Buffer {
  const bytes = Buffer.alloc(64);
  bytes[0] = 0xff;
  bytes[9] = 0x7f;
  bytes[10] = 3;
  bytes.write(mechanism, 12, "ascii");
  return bytes;
}

function command(name: string, body: Buffer): Buffer {
  const payload = Buffer.concat([Buffer.from([name.length]), Buffer.from(name, "ascii"), body]);
  return Buffer.concat([Buffer.from([0x04, payload.length]), payload]);
}

/** READY for a DEALER with the NULL mechanism: the handshake done, frames may follow. */
const ready = command("READY", Buffer.concat([Buffer.from([11]), Buffer.from("Socket-Type"), Buffer.from([0, 0, 0, 6]), Buffer.from("DEALER")]));

/** Byte streams from raw TCP peers, each sent on its own connection, which is then closed (or left open: `silent`). */
function rawGarbage(mechanism: "NULL" | "CURVE"): { name: string; bytes: Buffer; keepOpen?: boolean }[] {
  const frameHeader = (flags: number, size: bigint) => {
    const header = Buffer.alloc(9);
    header[0] = flags;
    header.writeBigUInt64BE(size, 1);
    return header;
  };
  return [
    { name: "random bytes", bytes: randomBytes(64 * 1024) },
    { name: "a peer that connects and never speaks", bytes: Buffer.alloc(0), keepOpen: true },
    { name: "a greeting cut short, then silence", bytes: greeting(mechanism).subarray(0, 30), keepOpen: true },
    { name: "a greeting with an unknown mechanism", bytes: Buffer.concat([greeting("NULL").fill(0, 12, 32).fill(88, 12, 17), randomBytes(100)]) },
    { name: "a NULL handshake, then a frame announcing 232 bytes and carrying 10", bytes: Buffer.concat([greeting("NULL"), ready, Buffer.from([0x00, 232]), randomBytes(10)]) },
    { name: "a NULL handshake, then a frame announcing 2^62 bytes", bytes: Buffer.concat([greeting("NULL"), ready, frameHeader(0x02, 1n << 62n), randomBytes(1000)]) },
    { name: "a NULL handshake, then a message over the size limit", bytes: Buffer.concat([greeting("NULL"), ready, frameHeader(0x02, BigInt(MAX_MESSAGE_BYTES + 1)), randomBytes(MAX_MESSAGE_BYTES + 1)]) },
    { name: "a CURVE greeting and a HELLO of random bytes", bytes: Buffer.concat([greeting("CURVE"), command("HELLO", randomBytes(194))]) },
  ];
}

/** Sends each raw stream on its own connection; resolves once the dispatcher has closed (or taken) all of those meant to close. */
async function sprayRaw(port: number, mechanism: "NULL" | "CURVE"): Promise<net.Socket[]> {
  const open: net.Socket[] = [];
  await Promise.all(rawGarbage(mechanism).map(({ name, bytes, keepOpen }) => new Promise<void>((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.on("error", () => {}); // the dispatcher may reset the connection: that is the point
    socket.on("connect", () => {
      socket.write(bytes);
      if (keepOpen) {
        open.push(socket);
        resolve();
      } else {
        socket.end();
      }
    });
    socket.on("data", () => {}); // the dispatcher's half of the greeting
    socket.on("close", () => resolve());
    setTimeout(() => reject(new Error(`the connection of "${name}" was never closed`)), 15_000).unref();
  })));
  return open;
}

/** The dispatcher still works: a task runs to its result, and its process runs. */
async function expectServing(fx: ClusterFixture): Promise<void> {
  expect(await fx.client.run((x: number) => x * 3, 14)).toBe(42);
  expect(fx.cluster.process("dispatcher")!.running).toBe(true);
}

describe("garbage on the dispatcher's port", () => {
  const fx = useCluster({ mode: "push", workers: { count: 1, executors: 1 }, dispatcher: { maxMessageBytes: MAX_MESSAGE_BYTES } });

  it("random frames, bad versions, extra frames, truncated messages and a silent peer leave it serving", async () => {
    const silent = new Dealer({ routingId: "silent-peer", linger: 0 });
    silent.connect(fx.cluster.dispatcherEndpoint);
    const noisy = new Dealer({ linger: 0 });
    noisy.connect(fx.cluster.dispatcherEndpoint);
    try {
      for (let round = 0; round < 20; round++) for (const frames of junkFrames) await noisy.send(frames);
      await expectServing(fx);
      // What it dropped, it said so (the first few; then every 1000th).
      const dropped = findLogged(fx.cluster.logFile("dispatcher"), "message dropped");
      expect(dropped.length).toBeGreaterThan(0);
      expect(dropped.map((event) => String(event.err)).join("\n")).toMatch(/not JSON/);
    } finally {
      silent.close();
      noisy.close();
    }
  });

  it("a message over --max-message-bytes closes its sender's connection before it is read; the dispatcher keeps serving", async () => {
    const oversized = new Dealer({ linger: 0, reconnectInterval: 60_000 });
    const disconnected = eventSeen(oversized, ["disconnect"]);
    oversized.connect(fx.cluster.dispatcherEndpoint);
    try {
      await oversized.send(Buffer.alloc(MAX_MESSAGE_BYTES + 1, 120));
      await waitFor(disconnected, { what: "the dispatcher to close the connection of a peer that sent an oversized message" });
      // Never decoded: a dropped frame's log line gives its size.
      const logged = findLogged(fx.cluster.logFile("dispatcher"), "message dropped").map((event) => String(event.err));
      expect(logged.filter((err) => err.includes(`(${MAX_MESSAGE_BYTES + 1} bytes)`))).toEqual([]);
      await expectServing(fx);
    } finally {
      oversized.close();
    }
  });

  it("a result larger than --max-message-bytes fails its task (ResultTooLarge) rather than cutting its worker off", async () => {
    const big = await fx.client.register((n: number) => "x".repeat(n));
    const failure = await fx.client.valueOf(await fx.client.execute(big, 2 * MAX_MESSAGE_BYTES)).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TaskFailedError);
    expect((failure as TaskFailedError).error).toMatchObject({ name: "ResultTooLarge", message: expect.stringContaining("--max-message-bytes") });
    await expectServing(fx);
  });

  it("raw bytes below ZeroMQ (random, a cut greeting, a cut frame, a frame of 2^62 bytes, a silent connection) leave it serving", async () => {
    const open = await sprayRaw(Number(fx.cluster.dispatcherEndpoint.split(":").pop()), "NULL");
    try {
      await expectServing(fx);
    } finally {
      for (const socket of open) socket.destroy();
    }
  });

  it("a peer that never registered cannot record a result", async () => {
    const slow = await fx.client.register(async () => new Promise((resolve) => setTimeout(() => resolve("genuine"), 1000)));
    const taskId = await fx.client.execute(slow);
    const forger = new Dealer({ linger: 0 });
    forger.connect(fx.cluster.dispatcherEndpoint);
    try {
      await forger.send(encode({ type: "result", taskId, status: "COMPLETED", result: serialize("forged"), executor: "forger" }));
      const [reply] = await forger.receive();
      expect(JSON.parse(reply.toString())).toMatchObject({ type: "unknown" });
      expect(await fx.client.valueOf(taskId)).toBe("genuine");
    } finally {
      forger.close();
    }
  });
});

describe("garbage on a CURVE dispatcher's port", () => {
  const fx = useCluster({ mode: "push", curve: true, workers: { count: 1, executors: 1 }, dispatcher: { maxMessageBytes: MAX_MESSAGE_BYTES } });

  it("the same garbage from an allowed key, refused peers (unknown key, no CURVE) and raw bytes leave it serving", async () => {
    const endpoint = fx.cluster.dispatcherEndpoint;
    const serverKey = fx.cluster.curve!.dispatcherPublicKey;
    const allowedPair = generateKeyPair();
    addToAllowlist(fx.cluster.curve!.allowlistFile, allowedPair.publicKey, "garbage-test");
    const curveOptions = (pair: typeof allowedPair) => ({ curveServerKey: serverKey, curvePublicKey: pair.publicKey, curveSecretKey: pair.secretKey });
    const allowed = new Dealer({ linger: 0, ...curveOptions(allowedPair) });
    const oversized = new Dealer({ linger: 0, reconnectInterval: 60_000, ...curveOptions(allowedPair) });
    const unknown = new Dealer({ linger: 0, ...curveOptions(generateKeyPair()) });
    const plain = new Dealer({ linger: 0 });
    const oversizedClosed = eventSeen(oversized, ["disconnect"]);
    const unknownRefused = eventSeen(unknown, ["handshake:error:auth"]);
    // Which end notices a mechanism mismatch first is a race: the other sees its connection dropped.
    const plainRefused = eventSeen(plain, ["handshake:error:protocol", "disconnect"]);
    for (const socket of [allowed, oversized, unknown, plain]) socket.connect(endpoint);
    let open: net.Socket[] = [];
    try {
      for (let round = 0; round < 20; round++) for (const frames of junkFrames) await allowed.send(frames);
      await oversized.send(Buffer.alloc(MAX_MESSAGE_BYTES + 1, 120));
      await waitFor(oversizedClosed, { what: "the dispatcher to close the connection of the peer that sent an oversized message" });
      expect(await waitFor(unknownRefused, { what: "the peer with an unknown key to be refused" })).toBe("handshake:error:auth");
      await waitFor(plainRefused, { what: "the peer without CURVE to be refused" });
      open = await sprayRaw(Number(endpoint.split(":").pop()), "CURVE");
      await expectServing(fx);
      expect(findLogged(fx.cluster.logFile("dispatcher"), "message dropped").length).toBeGreaterThan(0);
    } finally {
      for (const socket of [allowed, oversized, unknown, plain]) socket.close();
      for (const socket of open) socket.destroy();
    }
  });
});

describe("a worker against a dispatcher that sends garbage", () => {
  it("drops what it cannot read, and runs the task it is then sent", async () => {
    const router = new Router({ linger: 0 });
    await router.bind("tcp://127.0.0.1:*");
    // Its own process group, so that killing the group also ends the executor host it starts.
    const worker = execa(process.execPath, [cliPath, "push-worker", "1", router.lastEndpoint!], { reject: false, buffer: false, detached: true });
    const next = async (): Promise<[Buffer, WorkerMessage]> => {
      for (;;) {
        const [id, frame] = await router.receive();
        const message = decodeWorkerMessage(frame);
        if (message.type !== "heartbeat") return [id, message];
      }
    };
    try {
      const [id, hello] = await next();
      expect(hello).toMatchObject({ type: "hello", mode: "push", capacity: 1, held: [] });
      for (const junk of [Buffer.from("not json"), Buffer.from(`{"v":${PROTOCOL_VERSION},"type":"task"}`), Buffer.from('{"v":7,"type":"ack","taskId":"x"}')]) {
        await router.send([id, junk]);
      }
      await router.send([id, encode({ type: "welcome", dispatcherId: "fake", heartbeatMs: 500, heartbeatTolerance: 3 })]);
      await router.send([id, encode({ type: "task", taskId: "t1", functionId: "f1", source: "(a, b) => a + b", args: serialize([20, 22]), deadlineMs: 5000 })]);
      expect((await next())[1]).toEqual({ type: "started", taskId: "t1" });
      const [, result] = await next();
      expect(result).toMatchObject({ type: "result", taskId: "t1", status: "COMPLETED" });
      expect(deserialize((result as Extract<WorkerMessage, { type: "result" }>).result)).toBe(42);
      // Its one executor is busy with t2: t3 is handed back, as is a task whose source it was never sent.
      await router.send([id, encode({ type: "task", taskId: "t2", functionId: "f2", source: "async () => new Promise((r) => setTimeout(r, 5000))", args: serialize([]), deadlineMs: 10_000 })]);
      expect((await next())[1]).toMatchObject({ type: "started", taskId: "t2" });
      await router.send([id, encode({ type: "task", taskId: "t3", functionId: "f1", args: serialize([1, 2]), deadlineMs: 5000 })]);
      expect((await next())[1]).toEqual({ type: "rejected", taskId: "t3", reason: "busy" });
      await router.send([id, encode({ type: "ack", taskId: "t1" })]);
      // Once acknowledged, the worker no longer reports holding the task.
      await waitFor(async () => {
        const [, frame] = await router.receive();
        const message = decodeWorkerMessage(frame);
        return message.type === "heartbeat" && !message.running.includes("t1") && message.running.includes("t2");
      }, { what: "a heartbeat that no longer lists the acknowledged task" });
      expect(worker.exitCode).toBeNull();
    } finally {
      try {
        process.kill(-worker.pid!, "SIGKILL");
      } catch {
        /* already gone */
      }
      await worker;
      router.close();
    }
  });
});
