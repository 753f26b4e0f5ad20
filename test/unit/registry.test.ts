/** The remote dispatcher's worker registry, alone: no sockets, no Redis, a clock of its own. */
import { describe, expect, it } from "vitest";
import { pullPolicy, pushPolicy, type SchedulingPolicy } from "../../system/dispatcher/policy.js";
import { WorkerRegistry, type ConnectedWorker } from "../../system/dispatcher/registry.js";
import type { QueueEntry } from "../../system/store/replies.js";

const SILENCE_MS = 1500;

/** A registry on a clock the test moves, over a feeder backlog the test fills. */
function setup(policy: SchedulingPolicy = pushPolicy) {
  const clock = { now: 10_000 };
  const backlog = new Map<string, QueueEntry>();
  const withdrawn: string[] = [];
  const registry = new WorkerRegistry({
    policy, silenceMs: SILENCE_MS, now: () => clock.now,
    withdraw: (taskId) => {
      withdrawn.push(taskId);
      const entry = backlog.get(taskId);
      backlog.delete(taskId);
      return entry;
    },
  });
  const join = (id: string, capacity = 2, held: string[] = []) => registry.register(id, Buffer.from(id), capacity, held);
  /** Reserves a slot on whichever worker the policy picks and gives it the task, as the dispatcher does. */
  const give = (taskId: string, functionId = "f"): ConnectedWorker => {
    const worker = registry.reserve();
    if (!worker) throw new Error(`no worker may take ${taskId}`);
    registry.assign(worker, { taskId, entryId: `${taskId}-entry` }, functionId, registry.needsSource(worker, functionId));
    registry.unreserve(worker, true);
    return worker;
  };
  return { registry, clock, backlog, withdrawn, join, give };
}

const ids = (assignments: { taskId: string }[]) => assignments.map((assignment) => assignment.taskId).sort();

describe("worker registry", () => {
  it("registers a worker with its capacity; it is shown, and its executors are free", () => {
    const { registry, join } = setup();
    const { worker, rejoined, recalled } = join("w1", 4);
    expect([worker.id, worker.address.toString(), rejoined, recalled]).toEqual(["w1", "w1", false, []]);
    expect(registry.snapshots()).toEqual([{ id: "w1", capacity: 4, busy: 0, lastHeartbeatAt: 10_000, runtimes: ["javascript"] }]);
    expect(registry.freeSlots().total).toBe(4);
  });

  it("counts free executors per runtime, and a task of a runtime is given only to a worker that runs it", () => {
    const { registry } = setup();
    registry.register("js", Buffer.from("js"), 2, []);
    registry.register("both", Buffer.from("both"), 3, [], ["javascript", "python"]);
    expect(registry.freeSlots()).toEqual({ total: 5, byRuntime: { javascript: 5, python: 3 } });
    const picked = [1, 2, 3].map(() => registry.reserve("python")?.id);
    expect(picked).toEqual(["both", "both", "both"]);
    expect(registry.reserve("python")).toBeUndefined();
    expect(registry.freeSlots()).toEqual({ total: 2, byRuntime: { javascript: 2, python: 0 } });
    expect(registry.reserve("javascript")?.id).toBe("js");
  });

  it("a worker that rejoins with its tasks keeps them; one that rejoins without them has the old ones recalled, not those sent just now", () => {
    const { registry, clock, join, give } = setup();
    join("w1", 4);
    give("a");
    give("b");
    registry.started(registry.session(Buffer.from("w1"))!, "a");
    // Rejoins at once holding both: nothing changes.
    expect(join("w1", 4, ["a", "b"])).toMatchObject({ rejoined: true, recalled: [] });
    expect(registry.holds("a") && registry.holds("b")).toBe(true);
    // A silence later it rejoins holding only "a"; "c" was sent a moment ago and may still be on its way.
    clock.now += SILENCE_MS + 1;
    give("c");
    const again = join("w1", 4, ["a"]);
    expect(ids(again.recalled)).toEqual(["b"]);
    expect(again.recalled[0]).toMatchObject({ taskId: "b", entryId: "b-entry", workerId: "w1" });
    expect([registry.holds("a"), registry.holds("b"), registry.holds("c")]).toEqual([true, false, true]);
  });

  it("a hello listing a task no one was given adopts it (taking it out of the backlog); one another worker was given is a shadow that occupies an executor", () => {
    const { registry, backlog, withdrawn, join, give } = setup();
    join("w1", 1);
    const w1 = give("mine");
    backlog.set("orphan", { taskId: "orphan", entryId: "orphan-entry" });
    const { worker: w2 } = join("w2", 2, ["orphan", "mine"]);
    expect(withdrawn).toEqual(["orphan"]);
    expect(w2.assignments.get("orphan")).toMatchObject({ entryId: "orphan-entry", started: true });
    expect([...w2.shadows]).toEqual(["mine"]);
    expect(w2.assigned).toBe(2);
    expect(registry.freeSlots().total).toBe(0);
    // w2 reports the shadow's result: its executor is free, but the task stays w1's.
    expect(registry.finished(w2, "mine")).toBe("given to another worker");
    expect(w2.assigned).toBe(1);
    expect(registry.holds("mine")).toBe(true);
    expect(registry.finished(w1, "mine")).toMatchObject({ taskId: "mine", workerId: "w1" });
    expect(registry.holds("mine")).toBe(false);
  });

  it("a start or a result counts only from the worker the task was given to", () => {
    const { registry, join, give } = setup();
    join("w1", 1);
    const w1 = give("a");
    const { worker: w2 } = join("w2", 1);
    expect(registry.started(w2, "a")).toBe("given to another worker");
    expect(registry.started(w2, "never-given")).toBe("not given to any worker");
    expect(registry.finished(w2, "a")).toBe("given to another worker");
    expect(registry.finished(w2, "never-given")).toBe("not given to any worker");
    expect(w2.assignments.size + w2.shadows.size).toBe(0);
    expect(registry.started(w1, "a")).toMatchObject({ taskId: "a", workerId: "w1", started: true });
    expect(registry.finished(w1, "a")).toMatchObject({ taskId: "a", workerId: "w1" });
  });

  it("a worker is its session: a peer that has not said hello is no one, and a hello naming a worker connected elsewhere is not taken", () => {
    const { registry, clock, join } = setup();
    join("w1", 1);
    expect(registry.session(Buffer.from("stranger"))).toBeUndefined();
    expect(registry.takenElsewhere("w1", Buffer.from("stranger"))).toBe(true);
    expect(registry.takenElsewhere("w1", Buffer.from("w1"))).toBe(false);
    expect(() => registry.register("w1", Buffer.from("stranger"), 1, [])).toThrow(/another connection/);
    // Lost to silence, its session ends: its connection is no one until it says hello again.
    clock.now += SILENCE_MS + 1;
    expect(registry.removeSilent().map((loss) => loss.worker.id)).toEqual(["w1"]);
    expect(registry.session(Buffer.from("w1"))).toBeUndefined();
    expect(registry.takenElsewhere("w1", Buffer.from("stranger"))).toBe(false);
  });

  it("reconciles a heartbeat: a task sent more than a silence ago and not listed was lost on the way (recalled, its pull credit given back); a listed task not given here is a shadow", () => {
    const { registry, clock, join, give } = setup(pullPolicy);
    const { worker } = join("w1", 4);
    registry.requested(worker, 2);
    give("lost");
    give("young");
    expect(worker.credits).toBe(0);
    // Within the silence window nothing is presumed lost.
    expect(registry.reconcile(worker, [])).toEqual([]);
    clock.now += SILENCE_MS + 1;
    // Both were sent a silence ago now: "lost" is not listed, "young" is.
    const recalled = registry.reconcile(worker, ["young", "elsewhere"]);
    expect(ids(recalled)).toEqual(["lost"]);
    expect(worker.credits).toBe(1);
    expect([...worker.shadows]).toEqual(["elsewhere"]);
    // A later heartbeat without it: the shadow is gone.
    registry.reconcile(worker, ["young"]);
    expect(worker.shadows.size).toBe(0);
  });

  it("a worker silent past the silence bound is removed and everything it held is recalled; the others stay", () => {
    const { registry, clock, join, give } = setup();
    join("w1", 1);
    join("w2", 1);
    const first = give("a");
    const second = give("b");
    expect(new Set([first.id, second.id])).toEqual(new Set(["w1", "w2"]));
    clock.now += SILENCE_MS;
    registry.session(second.address);
    expect(registry.removeSilent()).toEqual([]);
    clock.now += 1;
    const [loss, ...more] = registry.removeSilent();
    expect(more).toEqual([]);
    expect([loss.worker.id, loss.silentMs, ids(loss.recalled)]).toEqual([first.id, SILENCE_MS + 1, ["a"]]);
    expect([...registry.connected()].map((worker) => worker.id)).toEqual([second.id]);
    expect(registry.holds(loss.recalled[0].taskId)).toBe(false);
  });

  it("a worker that says bye is sent nothing more; what it has not started is recalled, what it runs stays", () => {
    const { registry, join, give } = setup();
    const { worker } = join("w1", 2);
    give("running");
    give("unstarted");
    registry.started(worker, "running");
    expect(ids(registry.leaving(worker))).toEqual(["unstarted"]);
    expect(registry.holds("running")).toBe(true);
    expect(registry.freeSlots().total).toBe(0);
    expect(registry.reserve()).toBeUndefined();
    expect(registry.snapshots()).toEqual([]);
  });

  it("a rejected task is recalled; without its source, the function is sent again next time and a pull credit is given back", () => {
    const { registry, join, give } = setup(pullPolicy);
    const { worker } = join("w1", 2);
    registry.requested(worker, 2);
    give("a", "f");
    expect(registry.needsSource(worker, "f")).toBe(false);
    expect(ids(registry.rejected(worker, "a", "no-source"))).toEqual(["a"]);
    expect(registry.needsSource(worker, "f")).toBe(true);
    expect(worker.credits).toBe(2);
    give("b", "f");
    expect(ids(registry.rejected(worker, "b", "busy"))).toEqual(["b"]);
    expect(worker.credits).toBe(1);
    expect(registry.rejected(worker, "unknown", "busy")).toEqual([]);
  });

  it("push: free slots are capacity less what is assigned, reserved or shadowed; the most free worker is picked", () => {
    const { registry, join, give } = setup(pushPolicy);
    join("small", 1);
    join("large", 3);
    expect(registry.freeSlots().total).toBe(4);
    expect(give("a").id).toBe("large");
    const reserved = registry.reserve()!;
    expect(reserved.id).toBe("large");
    expect(registry.freeSlots().total).toBe(2);
    // Not assigned after all (the task was finished meanwhile): the slot comes back.
    registry.unreserve(reserved, false);
    expect(registry.freeSlots().total).toBe(3);
    registry.reconcile(registry.session(Buffer.from("small"))!, ["shadowed"]);
    expect(registry.freeSlots().total).toBe(2);
  });

  it("pull: free slots are the credits asked for, less the tasks already on their way; a task not assigned gives its credit back", () => {
    const { registry, join, give } = setup(pullPolicy);
    const { worker } = join("w1", 4);
    expect(registry.freeSlots().total).toBe(0);
    registry.requested(worker, 3);
    expect(registry.freeSlots().total).toBe(3);
    give("a");
    // It asks again for its 3 idle executors before "a" has started: "a" is on its way, so 2.
    registry.requested(worker, 3);
    expect(registry.freeSlots().total).toBe(2);
    const reserved = registry.reserve()!;
    expect(registry.freeSlots().total).toBe(1);
    registry.unreserve(reserved, false);
    expect(registry.freeSlots().total).toBe(2);
    // A hello (after a reconnection) resets the credits: it asks again after its welcome.
    join("w1", 4, ["a"]);
    expect(registry.freeSlots().total).toBe(0);
  });

  it("counts the tasks started, for the metrics", () => {
    const { registry, join, give } = setup();
    const { worker } = join("w1", 3);
    give("a");
    give("b");
    registry.started(worker, "a");
    expect(registry.running()).toBe(1);
    expect(registry.snapshots()[0].busy).toBe(2);
  });
});
