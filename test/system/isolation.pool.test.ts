/**
 * Hostile functions against the executor: the attacks of issue 6, each run through a real
 * ExecutorPool (an executor host process with real threads). Every attack asserts three things:
 *  - the task ends with a clear error, or a harmless value;
 *  - the host is untouched: an attack that gets hold of anything of the host reports it with a
 *    sentinel (HOST-REACHED, PROCESS-REACHED) and tries to write its marker file, so the
 *    result must hold neither sentinel, the file must not exist, the secret in this process's
 *    environment must not appear, and this process's globals must be unchanged;
 *  - the executor keeps serving: a normal task on every executor completes right after.
 * Then the same pool without its host (isolation: thread), for trusted functions. The second
 * wall is in isolation.host.test.ts, attacks through a live cluster in isolation.cluster.test.ts.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deserialize, serialize } from "../../system/codec/index.js";
import { ExecutorPool } from "../../system/executor/pool.js";
import { hostile, attack, expectServing, expectAllBlocked, expectFailure, useIsolationScratch } from "../support/isolation.js";

useIsolationScratch();

describe("hostile functions in the executor pool", () => {
  let pool: ExecutorPool;
  beforeAll(() => {
    // A budget well above what the heap-limited threads use, so only array buffers pass it.
    pool = new ExecutorPool({ executors: 2, memoryMb: 128, name: "isolation", hostMemoryMb: 640 });
  });
  afterAll(async () => {
    await pool?.close();
  });

  describe("reaching process through constructors", () => {
    it.each([
      ["this.constructor.constructor", "return [reach(this.constructor.constructor), reach(globalThis.constructor.constructor)]"],
      ["({}).constructor.constructor", "return [reach(({}).constructor.constructor), reach([].constructor.constructor), reach((1).constructor.constructor)]"],
      ["the constructor of every kind of function", "return [() => {}, async () => {}, function* () {}, async function* () {}, class {}, Math.max, Symbol, Proxy, Reflect.apply, Function.prototype].map((f) => reach(f.constructor))"],
      ["arguments.callee.caller", "const caller = arguments.callee.caller; return [caller === null ? 'nothing' : reach(caller.constructor), reach(arguments.callee.constructor), reach(arguments.constructor.constructor)]"],
      ["a function's .caller", "function inner() { return inner.caller } const caller = inner(); return [reach(caller.constructor), caller.caller === null ? 'nothing' : reach(caller.caller.constructor)]"],
      ["the sandbox's own globals", "return [setTimeout, setInterval, clearTimeout, clearInterval, queueMicrotask, console.log].map((f) => reach(f.constructor))"],
    ])("%s", async (_name, body) => {
      expectAllBlocked(await attack(pool, hostile(body)));
      await expectServing(pool);
    });

    it("the arguments the host passed in", async () => {
      const args = [[1], { a: 1 }, new Map([[1, 2]]), new Set([1]), new Date(0), /x/g, new Error("e"), new Uint8Array([1]), new ArrayBuffer(2)];
      const body = "return [...arguments].slice(1).flatMap((x) => [reach(x.constructor.constructor), reach(Object.getPrototypeOf(x).constructor.constructor), isHost(x) ? 'HOST-REACHED' : 'nothing'])";
      expectAllBlocked(await attack(pool, hostile(body), { args }));
      await expectServing(pool);
    });
  });

  describe("reaching process through prototypes", () => {
    it("every prototype chain of everything in reach, through __proto__ and Object.getPrototypeOf", async () => {
      const body = `
        const probes = [];
        const things = [{}, [], () => {}, Promise.resolve(), new Error(), /x/, new Map(), globalThis, arguments, Math, JSON, Reflect, Intl, new Proxy({}, {}), Symbol.iterator, 1n];
        for (const thing of things) {
          for (let o = Object(thing); o !== null; o = Object.getPrototypeOf(o)) probes.push(reach(o.constructor && o.constructor.constructor), isHost(o) ? "HOST-REACHED" : "nothing");
          for (let o = Object(thing).__proto__; o; o = o.__proto__) probes.push(reach(o.constructor && o.constructor.constructor));
        }
        return probes;`;
      expectAllBlocked(await attack(pool, hostile(body)));
      await expectServing(pool);
    });

    it("the receiver of a getter on the global object, and __proto__'s getter applied to the arguments", async () => {
      const body = `
        Object.defineProperty(globalThis, "probe", { get() { return this }, configurable: true });
        const receiver = probe;
        const getProto = ({}).__lookupGetter__("__proto__");
        return [isHost(receiver) ? "HOST-REACHED" : "nothing", reach(receiver.constructor.constructor), reach(getProto.call(args).constructor.constructor)];`;
      expectAllBlocked(await attack(pool, hostile(body, "args"), { args: [[1, 2]] }));
      await expectServing(pool);
    });
  });

  describe("reaching process through errors", () => {
    it("a stack overflow's RangeError and the errors builtins throw", async () => {
      const body = `
        const overflow = () => overflow();
        const errors = [() => overflow(), () => null.x, () => JSON.parse("{"), () => new Array(-1), () => BigInt(1.5), () => Symbol() + "", () => decodeURI("%"), () => undefinedName]
          .map((f) => caught(f));
        return errors.flatMap((e) => [isHost(e) ? "HOST-REACHED" : "nothing", reach(e.constructor.constructor)]);`;
      expectAllBlocked(await attack(pool, hostile(body)));
      await expectServing(pool);
    });

    it("errors thrown by the sandbox's own functions", async () => {
      const body = `
        const errors = [() => setTimeout("return process"), () => setInterval("1"), () => setTimeout(() => {}, Symbol()), () => clearTimeout(Symbol())].map((f) => caught(f));
        return errors.flatMap((e) => [e instanceof TypeError ? "nothing" : "HOST-REACHED", reach(e.constructor.constructor)]);`;
      expectAllBlocked(await attack(pool, hostile(body)));
      await expectServing(pool);
    });

    // Calling host code with the stack nearly exhausted makes the stack overflow inside it,
    // which throws a host-realm RangeError: through the timer functions and through the
    // formatting of `.stack` (Node's prepareStackTrace). Each probe recurses to the limit with
    // frames of several sizes, and at every depth on the way back makes the call.
    it("host errors provoked by overflowing the stack inside host code: timers and .stack", async () => {
      const body = `
        const found = new Set();
        const calls = [
          () => clearTimeout(1), () => setTimeout(() => {}, 1e6), () => queueMicrotask(() => {}), () => new Error("x").stack,
          () => { const o = {}; Error.captureStackTrace(o); return o.stack }, () => { try { null.x } catch (e) { return e.stack } },
        ];
        for (const call of calls) {
          for (let k = 0; k < 12; k++) {
            const pad = new Array(k).fill(0);
            const dive = (n, ...rest) => {
              try { dive(n + 1, ...pad) } catch {}
              try { call() } catch (error) { found.add(isHost(error) ? "HOST-REACHED" : reach(error.constructor.constructor)) }
            };
            dive(0);
          }
        }
        return [...found];`;
      expectAllBlocked(await attack(pool, hostile(body), { deadlineMs: 30_000 }));
      await expectServing(pool);
    });

    it("Error.prepareStackTrace and Error.captureStackTrace never hand out CallSites: no stack is captured", async () => {
      const body = `
        const sites = [];
        Error.prepareStackTrace = (error, callSites) => { sites.push(...callSites); return "formatted" };
        const raised = caught(() => { Error.stackTraceLimit = 50 });
        const holder = {};
        Error.captureStackTrace(holder);
        const stacks = [new Error("x").stack, caught(() => null.x).stack, holder.stack, caught(function deep() { return deep() }).stack];
        const probes = sites.flatMap((site) => [isHost(site.getThis()) ? "HOST-REACHED" : "nothing", reach(site.getFunction() && site.getFunction().constructor), reach(site.constructor.constructor)]);
        return [sites.length, String(Error.stackTraceLimit), raised && raised.name, stacks.map(String), probes];`;
      const outcome = await attack(pool, hostile(body));
      expect(outcome.status, outcome.result).toBe("COMPLETED");
      expect(outcome.value).toEqual([0, "undefined", undefined, ["undefined", "undefined", "undefined", "undefined"], []]);
      await expectServing(pool);
    });
  });

  describe("reaching process through promises", () => {
    it("promise chains, resolving functions and the errors of rejected promises", async () => {
      const body = `
        return (async () => {
          const probes = [];
          await Promise.resolve().then(() => probes.push(reach(Promise.constructor)));
          await new Promise((resolve, reject) => { probes.push(reach(resolve.constructor), reach(reject.constructor), isHost(resolve) ? "HOST-REACHED" : "nothing"); resolve() });
          const rejections = await Promise.allSettled([Promise.all(5), Promise.reject(new Error("r")), (async () => null.x)(), new Promise(() => { throw 1 }), Promise.any([])]);
          for (const { reason } of rejections) probes.push(isHost(reason) ? "HOST-REACHED" : "nothing", reason instanceof Object ? reach(reason.constructor.constructor) : "nothing");
          return probes;
        })();`;
      expectAllBlocked(await attack(pool, hostile(body)));
      await expectServing(pool);
    });

    it("a thenable returned as the result gets the sandbox's resolving functions", async () => {
      const body = "return { then(resolve, reject) { resolve([reach(resolve.constructor), reach(reject.constructor), isHost(resolve) ? 'HOST-REACHED' : 'nothing']) } }";
      expectAllBlocked(await attack(pool, hostile(body)));
      await expectServing(pool);
    });

    it("a replaced Promise.prototype.then sees only the sandbox's functions", async () => {
      const body = `
        const probes = [];
        const then = Promise.prototype.then;
        Promise.prototype.then = function (onFulfilled, onRejected) {
          probes.push(isHost(onFulfilled) ? "HOST-REACHED" : "nothing", reach(onFulfilled && onFulfilled.constructor));
          return then.call(this, onFulfilled, onRejected);
        };
        return Promise.resolve(probes);`;
      expectAllBlocked(await attack(pool, hostile(body)));
      await expectServing(pool);
    });

    it("a floating rejection does not bring the executor down", async () => {
      const outcome = await attack(pool, hostile("Promise.reject(new Error('floating')); (async () => { throw 1 })(); return 'returned'"));
      expect([outcome.status, outcome.value]).toEqual(["COMPLETED", "returned"]);
      await expectServing(pool);
    });
  });

  it("eval, Function, new Function, string timers and WebAssembly cannot generate code", async () => {
    const body = `
      const wasm = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
      return (async () => {
        const names = [() => eval("1"), () => (0, eval)("1"), () => globalThis.eval("1"), () => Function("return 1")(), () => new Function("return 1")(),
          () => Reflect.construct(Function, ["return 1"])(), () => (async function () {}).constructor("return 1")(), () => (function* () {}).constructor("yield 1")().next(),
          () => setTimeout("1"), () => setInterval("1"), () => new WebAssembly.Module(wasm)].map((f) => { const r = caught(f); return r instanceof Error ? r.name : "GENERATED " + r });
        names.push(await WebAssembly.compile(wasm).then(() => "GENERATED", (e) => e.name));
        return names;
      })();`;
    const outcome = await attack(pool, hostile(body));
    expect(outcome.status, outcome.result).toBe("COMPLETED");
    expect(outcome.value).toEqual([...Array(8).fill("EvalError"), "TypeError", "TypeError", "CompileError", "CompileError"]);
    await expectServing(pool);
  });

  it.each([
    ["import()", "async () => import('node:fs')"],
    ["import() behind a comment", "async () => import(/* x */ 'fs')"],
    ["import() in a nested function", "() => { const later = () => import('fs'); return typeof later }"],
    ["import.meta", "() => import.meta.url"],
  ])("%s is refused before anything runs", async (_name, source) => {
    expectFailure(await attack(pool, source), "InvalidFunctionError", /import\(\) is not available|does not compile/);
    await expectServing(pool);
  });

  it("process.exit is not there", async () => {
    expectFailure(await attack(pool, "() => process.exit(1)"), "ReferenceError", /process is not defined/);
    expectFailure(await attack(pool, "() => globalThis.process.exit(1)"), "TypeError");
    expectFailure(await attack(pool, "function () { return this.process.exit(1) }"), "TypeError");
    await expectServing(pool);
  });

  describe("infinite loops end at the deadline, and the other executor serves meanwhile", () => {
    // A loop that allocates as it spins (each turn of a promise chain makes a promise) may
    // reach the heap limit before the deadline: either ending is a clean one.
    const spinsOrFills = ["DeadlineExceeded", "ResourceLimitExceeded"];
    it.each([
      ["a synchronous loop", "() => { for (;;) {} }", ["DeadlineExceeded"]],
      ["a loop that a finally block restarts", "() => { for (;;) { try { for (;;) {} } finally { continue } } }", ["DeadlineExceeded"]],
      ["a promise chain", "() => { const spin = () => Promise.resolve().then(spin); spin(); return new Promise(() => {}) }", spinsOrFills],
      ["queueMicrotask", "() => { const again = () => queueMicrotask(again); again(); return new Promise(() => {}) }", spinsOrFills],
      ["an async function", "async () => { for (;;) await null }", spinsOrFills],
      ["busy intervals", "() => { setInterval(() => { for (let i = 0; i < 1e8; i++); }, 0); return new Promise(() => {}) }", ["DeadlineExceeded"]],
      ["a promise that never settles", "() => new Promise(() => {})", ["DeadlineExceeded"]],
      ["Atomics.wait", "() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)", ["DeadlineExceeded"]],
    ])("%s", async (_name, source, endings) => {
      const looping = attack(pool, source, { deadlineMs: 1000 });
      await expectServing(pool, 1);
      const outcome = await looping;
      expect(outcome.status).toBe("FAILED");
      expect(endings).toContain(outcome.value.name);
      if (outcome.value.name === "DeadlineExceeded") expect(outcome.value.message).toMatch(/1000 ms/);
      await expectServing(pool);
    });
  });

  describe("memory bombs", () => {
    it.each([
      ["an array that grows for ever", "() => { const a = []; for (;;) a.push({ n: a.length }) }"],
      ["strings kept in an array", "() => { const a = []; for (let i = 0; ; i++) a.push('x'.repeat(1 << 16) + i) }"],
    ])("%s ends with ResourceLimitExceeded (the thread's heap limit)", async (_name, source) => {
      expectFailure(await attack(pool, source), "ResourceLimitExceeded", /128 MiB/);
      await expectServing(pool);
    });

    // Growing a Map past the heap limit fails one large allocation (the rehash), on which V8
    // aborts the whole process rather than the thread: the host dies, and is replaced.
    it("a Map that grows for ever ends with ResourceLimitExceeded, or aborts the host, which is replaced", async () => {
      const outcome = await attack(pool, "() => { const m = new Map(); for (let i = 0; ; i++) m.set(i, [i]) }");
      expect(outcome.status).toBe("FAILED");
      if (outcome.value.name === "ExecutorCrashed") expect(outcome.value.message).toMatch(/SIGABRT/);
      else expect(outcome.value.name).toBe("ResourceLimitExceeded");
      await expectServing(pool);
    });

    it("string doubling ends at V8's string length limit or the heap limit", async () => {
      const outcome = await attack(pool, "() => { let s = 'x'; for (;;) s += s }");
      expect(outcome.status).toBe("FAILED");
      expect(["RangeError", "ResourceLimitExceeded"]).toContain(outcome.value.name);
      await expectServing(pool);
    });

    it("an ArrayBuffer too large to allocate is a RangeError", async () => {
      expectFailure(await attack(pool, "() => new ArrayBuffer(2 ** 40)"), "RangeError", /allocation failed/);
      await expectServing(pool);
    });

    // Array buffers live outside the heap limit: the host's memory budget catches them, and
    // the host process is replaced.
    it.each([
      ["typed arrays filled and kept", "() => { const kept = []; for (;;) kept.push(new Uint8Array(16 << 20).fill(1)) }"],
      ["SharedArrayBuffers filled and kept", "() => { const kept = []; for (;;) kept.push(new Uint8Array(new SharedArrayBuffer(16 << 20)).fill(1)) }"],
      ["a WebAssembly.Memory grown and filled", "() => { const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536 }); for (;;) { const end = memory.buffer.byteLength; memory.grow(256); new Uint8Array(memory.buffer, end).fill(1) } }"],
    ])("%s end with ResourceLimitExceeded (the host's memory budget)", async (_name, source) => {
      const hostBefore = pool.hostPid;
      expectFailure(await attack(pool, source), "ResourceLimitExceeded", /memory budget of 640 MiB/);
      await expectServing(pool);
      expect(pool.hostPid).not.toBe(hostBefore);
    });
  });

  it.each([
    ["plain recursion", "() => { const f = (n) => f(n + 1) + 1; return f(0) }"],
    ["recursion in an async function", "async () => { const f = async (n) => 1 + await f(n + 1); return f(0) }"],
    ["a getter that calls itself", "() => { const o = { get x() { return this.x } }; return o.x }"],
  ])("deep recursion (%s) is a RangeError", async (_name, source) => {
    expectFailure(await attack(pool, source), "RangeError", /call stack/);
    await expectServing(pool);
  });

  it("a result nested deeper than the stack is a described failure", async () => {
    const outcome = await attack(pool, "() => { let o = {}; for (let i = 0; i < 200000; i++) o = { o }; return o }");
    expect(outcome.status).toBe("FAILED");
    expect(outcome.value.name).toMatch(/RangeError|SerializationError/);
    await expectServing(pool);
  });

  describe("odd values returned or thrown", () => {
    it.each([
      ["a Proxy", "() => new Proxy({}, {})", /is a Proxy/],
      // (Its `then` is read by the function's own promise resolution, as for any returned object.)
      ["a Proxy whose traps throw", "() => new Proxy({}, { get(_, key) { if (key === 'then') return undefined; throw 1 }, getPrototypeOf() { throw 2 }, ownKeys() { throw 3 } })", /is a Proxy/],
      ["a getter that throws", "() => ({ get x() { throw new Error('boom') } })", /result.x is a getter/],
      ["an array with a getter", "() => { const a = [1]; Object.defineProperty(a, 0, { get() { throw 1 } }); return a }", /result\[0\] is a getter/],
      ["a Symbol.toStringTag getter", "() => ({ get [Symbol.toStringTag]() { throw new Proxy({}, { get() { throw 7 } }) } })", /Symbol.toStringTag getter/],
      ["a symbol", "() => Symbol('s')", /is a symbol/],
      ["a function", "() => () => 1", /is a function/],
      ["a class instance whose name is an object", "() => { class C { static name = { toString() { throw 1 } } } return new C() }", /instance of/],
      ["an object with another object as its prototype", "() => Object.create({ inherited: 1 })", /instance of/],
      ["a thrown Proxy", "() => { throw new Proxy({}, { get() { throw 1 } }) }", /thrown value is a Proxy/],
      ["a thrown symbol", "() => { throw Symbol('s') }", /thrown value is a symbol/],
      ["a thrown object whose toString throws", "() => { throw { toString() { throw new Error('x') } } }", /thrown value.toString is a function/],
    ])("%s fails with a SerializationError", async (_name, source, message) => {
      expectFailure(await attack(pool, source), "SerializationError", message);
      await expectServing(pool);
    });

    it.each([
      ["a number", "() => { throw 42 }", "42", 42],
      ["undefined", "() => { throw undefined }", "undefined", undefined],
      ["null", "() => { throw null }", "null", null],
      ["a string", "() => { throw 'plain' }", '"plain"', "plain"],
    ])("a thrown %s becomes an Error whose cause is the value", async (_name, source, shown, cause) => {
      const error = expectFailure(await attack(pool, source), "Error", new RegExp(`not an Error: ${shown}$`));
      expect(error.cause).toEqual(cause);
      await expectServing(pool);
    });

    it("an error whose message and name are objects or getters is copied without running them", async () => {
      const body = `
        const error = new TypeError("original");
        Object.defineProperty(error, "message", { value: { toString() { throw new Error("ran") } } });
        Object.defineProperty(error, "name", { get() { throw new Error("ran") } });
        throw error;`;
      const error = expectFailure(await attack(pool, hostile(body)), "Error");
      expect(error.message).toBe("");
      await expectServing(pool);
    });

    it("cyclic values: a result keeps its cycle, an error that is its own cause is carried", async () => {
      const result = await attack(pool, "() => { const o = { n: 1 }; o.self = o; return o }");
      expect(result.status).toBe("COMPLETED");
      expect(result.value.self).toBe(result.value);
      const thrown = await attack(pool, "() => { const e = new Error('loop'); e.cause = e; throw e }");
      expect((expectFailure(thrown, "Error", /loop/).cause as Error).message).toBe("loop");
      await expectServing(pool);
    });

    it("a Date with a replaced getTime is read through the host's own method", async () => {
      const outcome = await attack(pool, "() => { const d = new Date(0); d.getTime = () => { throw 1 }; return d }");
      expect(outcome.status).toBe("COMPLETED");
      expect(outcome.value).toEqual(new Date(0));
      await expectServing(pool);
    });

    it("a BigInt too large for V8 is a RangeError", async () => {
      expectFailure(await attack(pool, "() => 2n ** (2n ** 40n)"), "RangeError");
      await expectServing(pool);
    });

    it("an array of length 2^32 - 1 is stopped at the deadline", async () => {
      expectFailure(await attack(pool, "() => { const a = []; a.length = 2 ** 32 - 1; return a }", { deadlineMs: 1000 }), "DeadlineExceeded");
      await expectServing(pool);
    });
  });

  describe("floods of timers", () => {
    it("a call may have 10,000 timers pending; the rest throw a RangeError", async () => {
      const outcome = await attack(pool, "() => { let n = 0; try { for (;;) { setTimeout(() => {}, 1e9); n++ } } catch (e) { return [n, e.name] } }");
      expect([outcome.status, outcome.value]).toEqual(["COMPLETED", [10_000, "RangeError"]]);
      await expectServing(pool);
    });

    it("a hundred thousand busy intervals are refused past the bound and cancelled when the call settles", async () => {
      const source = `() => new Promise((resolve) => {
        let set = 0;
        setTimeout(() => resolve(set), 20);
        for (let i = 0; i < 100000; i++) { try { setInterval(() => { for (let j = 0; j < 1e4; j++); }, 0); set++ } catch {} }
      })`;
      const outcome = await attack(pool, source);
      expect([outcome.status, outcome.value]).toEqual(["COMPLETED", 9_999]);
      // Both executors answer: the one that ran the flood has no interval left running.
      await expectServing(pool);
      await expectServing(pool);
    });
  });

  describe("the result size limit", () => {
    it("a result over the default 16 MiB fails with ResultTooLarge, giving its size and the limit", async () => {
      expectFailure(await attack(pool, "() => 'x'.repeat(17 * 1024 * 1024)"), "ResultTooLarge", /is 1782579\d bytes, over the limit of 16777216 bytes/);
      const under = await attack(pool, "() => 'x'.repeat(1024 * 1024)");
      expect([under.status, under.value.length]).toEqual(["COMPLETED", 1024 * 1024]);
      await expectServing(pool);
    });

    it("the limit counts UTF-8 bytes and applies to thrown errors too", async () => {
      const small = new ExecutorPool({ executors: 1, memoryMb: 64, name: "small", maxResultBytes: 1000 });
      try {
        const fits = await attack(small, "() => 'é'.repeat(400)");
        expect([fits.status, fits.value]).toEqual(["COMPLETED", "é".repeat(400)]);
        expectFailure(await attack(small, "() => 'é'.repeat(600)"), "ResultTooLarge", /serialized result is 1204 bytes, over the limit of 1000 bytes/);
        expectFailure(await attack(small, "() => { throw new Error('e'.repeat(2000)) }"), "ResultTooLarge", /serialized thrown error is \d+ bytes/);
        await expectServing(small);
      } finally {
        await small.close();
      }
    });
  });
});

describe("isolation: thread (no executor host, for trusted functions)", () => {
  it("runs tasks on threads of this process, with the sandbox, the deadline and the heap limit still in force", async () => {
    const pool = new ExecutorPool({ executors: 1, memoryMb: 64, name: "in-process", isolation: "thread" });
    try {
      expect(pool.hostPid, "no executor host process").toBeUndefined();
      const run = (source: string, deadlineMs = 5000) => pool.run({ functionId: randomUUID(), source, args: serialize([]) }, deadlineMs);
      expect(await run("() => 6 * 7")).toMatchObject({ status: "COMPLETED", result: serialize(42) });
      const escape = await run("() => this.constructor.constructor('return process')().pid");
      expect(escape.status).toBe("FAILED");
      const loop = await run("() => { for (;;) {} }", 300);
      expect(loop.status).toBe("FAILED");
      expect((deserialize(loop.result) as Error).name).toBe("DeadlineExceeded");
      const bomb = await run("() => { const a = []; for (;;) a.push(new Array(1e5).fill(1)); }", 20_000);
      expect((deserialize(bomb.result) as Error).name).toBe("ResourceLimitExceeded");
      expect(await run("() => 'still serving'")).toMatchObject({ status: "COMPLETED", result: serialize("still serving") });
    } finally {
      await pool.close();
    }
  });
});
