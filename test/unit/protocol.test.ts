import { describe, expect, it } from "vitest";
import { decodeDispatcherMessage, decodeWorkerMessage, encode, PROTOCOL_VERSION, ProtocolError, type DispatcherMessage, type WorkerMessage } from "../../system/protocol/messages.js";
import { pullPolicy, pushPolicy, type WorkerSlot } from "../../system/dispatcher/policy.js";
import { pullDemand } from "../../system/worker/demand.js";

const frame = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value));

describe("wire messages", () => {
  it("round-trip through encode and decode on both sides", () => {
    const hello: WorkerMessage = { type: "hello", workerId: "w1", mode: "push", capacity: 4, token: "t", held: ["a"] };
    expect(decodeWorkerMessage(encode(hello))).toEqual(hello);
    const task: DispatcherMessage = { type: "task", taskId: "a", functionId: "f", source: "x => x", args: "[[]]", deadlineMs: 100 };
    expect(decodeDispatcherMessage(encode(task))).toEqual(task);
    expect(JSON.parse(encode({ type: "bye" }).toString())).toEqual({ v: PROTOCOL_VERSION, type: "bye" });
  });

  it.each([
    ["not JSON", frame("\u0000\u0001garbage"), /not JSON/],
    ["JSON that is not an object", frame("42"), /protocol version/],
    ["another protocol version", frame({ v: 1, type: "bye" }), /protocol version 1, expected 2/],
    ["no version", frame({ type: "bye" }), /protocol version undefined/],
    ["an unknown type", frame({ v: 2, type: "shutdown" }), /type/],
    ["a missing field", frame({ v: 2, type: "started" }), /taskId/],
    ["a wrong field type", frame({ v: 2, type: "request", idle: "3" }), /idle/],
    ["a negative count", frame({ v: 2, type: "request", idle: -1 }), /idle/],
    ["a dispatcher message sent by a worker", frame({ v: 2, type: "ack", taskId: "a" }), /type/],
    ["nothing", undefined, /empty/],
  ])("refuses %s with a ProtocolError saying what is wrong", (_case, bytes, message) => {
    expect(() => decodeWorkerMessage(bytes)).toThrow(ProtocolError);
    expect(() => decodeWorkerMessage(bytes)).toThrow(message);
  });

  it("ignores fields it does not know (a newer minor addition)", () => {
    expect(decodeWorkerMessage(frame({ v: 2, type: "bye", extra: true }))).toEqual({ type: "bye" });
  });
});

const slot = (id: string, capacity: number, assigned = 0, credits = 0, lastServedAt = 0): WorkerSlot => ({ id, capacity, assigned, credits, lastServedAt, leaving: false });

describe("push policy", () => {
  it("sends each task to the worker with the most free executors, never beyond capacity", () => {
    const workers = [slot("a", 4, 3), slot("b", 2, 0), slot("c", 8, 5)];
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      const chosen = pushPolicy.pick(workers)!;
      pushPolicy.assigned(chosen);
      chosen.assigned++;
      chosen.lastServedAt = i + 1;
      order.push(chosen.id);
    }
    expect(order.slice(0, 1)).toEqual(["c"]);
    expect(workers.map((w) => w.assigned)).toEqual([4, 2, 8]);
    expect(pushPolicy.pick(workers)).toBeUndefined();
  });

  it("breaks ties by the least recently served, and skips a leaving worker", () => {
    const workers = [slot("a", 2, 0, 0, 5), slot("b", 2, 0, 0, 1), slot("c", 4, 0, 0, 0)];
    workers[2].leaving = true;
    expect(pushPolicy.pick(workers)!.id).toBe("b");
  });
});

describe("pull policy", () => {
  it("sends tasks only against requests, oldest request first", () => {
    const workers = [slot("a", 4, 0, 0, 3), slot("b", 4, 0, 2, 2), slot("c", 4, 0, 1, 1)];
    expect(pullPolicy.pick(workers)!.id).toBe("c");
    pullPolicy.assigned(workers[2]);
    expect(workers[2].credits).toBe(0);
    expect(pullPolicy.pick(workers)!.id).toBe("b");
    pullPolicy.released(workers[2]);
    expect(workers[2].credits).toBe(1);
  });

  it("a worker that asked for nothing gets nothing", () => {
    expect(pullPolicy.pick([slot("a", 4, 0, 0)])).toBeUndefined();
  });
});

describe("pull worker demand", () => {
  it("says how many executors are idle when welcomed and as tasks finish, never when none are", () => {
    const requests: number[] = [];
    const demand = pullDemand((idle) => requests.push(idle));
    demand.welcomed(4);
    demand.finished(1);
    demand.finished(0);
    demand.welcomed(2);
    expect(requests).toEqual([4, 1, 2]);
  });
});
