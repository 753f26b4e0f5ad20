import { describe, expect, it } from "vitest";
import { MAX_TIMERS, Sandbox } from "../../system/executor/sandbox.js";
import { SerializationError } from "../../system/executor/realm.js";

async function call(fn: string | ((...args: any[]) => unknown), ...args: unknown[]) {
  const sandbox = new Sandbox(typeof fn === "string" ? fn : fn.toString(), { filename: "test" });
  return sandbox.call(args);
}

async function value(fn: string | ((...args: any[]) => unknown), ...args: unknown[]) {
  const outcome = await call(fn, ...args);
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

async function thrown(fn: string | ((...args: any[]) => unknown), ...args: unknown[]) {
  const outcome = await call(fn, ...args);
  expect(outcome.ok).toBe(false);
  return (outcome as { error: unknown }).error as Error;
}

describe("sandbox: the host is out of reach", () => {
  it("no require, module, process or environment", async () => {
    expect(await value(() => [typeof (globalThis as any).require, typeof (globalThis as any).module, typeof (globalThis as any).process])).toEqual(["undefined", "undefined", "undefined"]);
    expect((await thrown(() => (globalThis as any).require("fs"))).name).toBe("TypeError");
    expect((await thrown("() => process.env")).name).toBe("ReferenceError");
    expect((await thrown("() => require('node:fs')")).name).toBe("ReferenceError");
    expect(await value("() => typeof globalThis.process")).toBe("undefined");
  });

  it("this.constructor.constructor('return process')() gets nothing", async () => {
    const error = await thrown("function () { return this.constructor.constructor('return process')() }");
    expect(error.name).toMatch(/EvalError|TypeError/);
    expect((await thrown("() => ({}).constructor.constructor('return process')()")).name).toBe("EvalError");
    expect((await thrown("() => [].map.constructor('return process')()")).name).toBe("EvalError");
  });

  it("arguments, errors and promises given to the function lead only into the sandbox", async () => {
    const probe = `(args, error) => {
      const tries = [() => args.constructor.constructor, () => error.constructor.constructor, () => Promise.resolve().constructor.constructor];
      return tries.map((get) => { try { return get()("return typeof process")() } catch (e) { return e.name } });
    }`;
    expect(await value(probe, [1, 2], new Error("x"))).toEqual(["EvalError", "EvalError", "EvalError"]);
  });

  it("eval and new Function are switched off", async () => {
    expect((await thrown("() => eval('1 + 1')")).name).toBe("EvalError");
    expect((await thrown("() => new Function('return 1')()")).name).toBe("EvalError");
  });

  it("import() is refused before the function is compiled", () => {
    expect(() => new Sandbox("async () => import('node:fs')", { filename: "t" })).toThrow(/import\(\) is not available/);
  });

  it("the timers the sandbox has are its own functions", async () => {
    expect(await value("() => { try { return setTimeout.constructor('return process')() } catch (e) { return e.name } }")).toBe("EvalError");
    expect(await value("() => typeof setTimeout(() => {}, 0)")).toBe("number");
  });
});

describe("sandbox: calls", () => {
  it("returns plain values, Maps, Sets, Dates, BigInts and typed arrays as host values", async () => {
    const result = (await value((n: number) => [n * 2, new Map([["k", new Set([1])]]), new Date(0), 2n ** 70n, new Uint8Array([1, 2])], 21)) as unknown[];
    expect(result[0]).toBe(42);
    expect(result[1]).toBeInstanceOf(Map);
    expect(result[1]).toEqual(new Map([["k", new Set([1])]]));
    expect(result[2]).toBeInstanceOf(Date);
    expect(result[3]).toBe(2n ** 70n);
    expect(result[4]).toBeInstanceOf(Uint8Array);
  });

  it("arguments arrive as sandbox values that behave normally", async () => {
    expect(await value((m: Map<string, number>, s: Set<number>, d: Date, r: RegExp) => [m instanceof Map, m.get("a"), s.has(3), d.getUTCFullYear(), r.test("ABC")], new Map([["a", 1]]), new Set([3]), new Date(Date.UTC(2020, 0)), /abc/i))
      .toEqual([true, 1, true, 2020, true]);
  });

  it("awaits async functions and their timers", async () => {
    expect(await value(async (ms: number) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return "slept";
    }, 20)).toBe("slept");
  });

  it("a thrown error keeps its name, message and cause", async () => {
    const error = await thrown(() => {
      throw new RangeError("bad", { cause: "why" });
    });
    expect(error).toBeInstanceOf(Error);
    expect([error.name, error.message, error.cause]).toEqual(["RangeError", "bad", "why"]);
  });

  it("an error thrown in a timer callback fails the call", async () => {
    const error = await thrown(() => new Promise(() => setTimeout(() => {
      throw new Error("from a timer");
    }, 5)));
    expect(error.message).toBe("from a timer");
  });

  it.each([
    ["a function", "() => () => 1", /is a function/],
    ["a symbol", "() => Symbol('s')", /is a symbol/],
    ["a Proxy", "() => new Proxy({}, {})", /is a Proxy/],
    ["a getter", "() => ({ get x() { throw new Error('boom') } })", /result.x is a getter/],
    ["a class instance", "() => new (class Point {})()", /instance of Point/],
  ])("refuses to return %s with a SerializationError", async (_name, source, message) => {
    const error = await thrown(source);
    expect(error).toBeInstanceOf(SerializationError);
    expect(error.message).toMatch(message);
  });

  it("a cyclic result is copied with its cycle", async () => {
    const result = (await value(() => {
      const o: Record<string, unknown> = { n: 1 };
      o.self = o;
      return o;
    })) as Record<string, unknown>;
    expect(result.self).toBe(result);
  });

  it("a sandbox keeps serving after a failed call, and a late timer of one call never fires in the next", async () => {
    const sandbox = new Sandbox("(fail) => fail ? new Promise((_, reject) => { setTimeout(() => reject(new Error('late')), 30); throw new Error('now') }) : 'ok'", { filename: "t" });
    const first = await sandbox.call([true]);
    expect(first.ok).toBe(false);
    const second = await sandbox.call([false]);
    expect(second).toEqual({ ok: true, value: "ok" });
  });
});

describe("sandbox: no host error ever reaches user code", () => {
  // A host-realm object's prototype chain ends at another realm's Object.prototype.
  const probeHostErrors = (call: string) => `() => {
    const rootOf = (x) => { let o = x; for (let p = Object.getPrototypeOf(o); p !== null; p = Object.getPrototypeOf(p)) o = p; return o };
    const seen = new Set();
    for (let k = 0; k < 12; k++) {
      const pad = new Array(k).fill(0);
      const dive = (n, ...rest) => {
        try { dive(n + 1, ...pad) } catch {}
        try { ${call} } catch (error) { seen.add(rootOf(error) === Object.prototype ? error.name : "HOST " + error.name) }
      };
      dive(0);
    }
    return [...seen];
  }`;

  // Calling host code with the stack nearly exhausted overflows it inside the host function,
  // whose RangeError belongs to the host realm (and its constructor to the host's Function).
  it.each([
    ["setTimeout", "setTimeout(() => {}, 1e6)"],
    ["clearTimeout", "clearTimeout(1)"],
    ["reading .stack", "new Error('x').stack"],
    ["Error.captureStackTrace", "{ const o = {}; Error.captureStackTrace(o); o.stack }"],
  ])("%s at every depth near the stack limit throws only the sandbox's own errors", async (_name, call) => {
    const names = (await value(probeHostErrors(call))) as string[];
    expect(names.filter((name) => name.startsWith("HOST"))).toEqual([]);
  });

  it("errors capture no stack trace, so Error.prepareStackTrace is never called, and the limit cannot be raised", async () => {
    expect(await value(`() => {
      let calls = 0;
      Error.prepareStackTrace = () => { calls++; return "formatted" };
      Error.stackTraceLimit = 10; // ignored: the property is read-only (a strict-mode function would get a TypeError)
      const holder = {};
      Error.captureStackTrace(holder);
      return [calls, String(Error.stackTraceLimit), new Error("x").stack, holder.stack];
    }`)).toEqual([0, "undefined", undefined, undefined]);
  });

  it("a thrown error comes out without a stack, not with the host's", async () => {
    const error = await thrown(() => {
      throw new TypeError("plain");
    });
    expect([error.name, error.message, error.stack]).toEqual(["TypeError", "plain", undefined]);
  });
});

describe("sandbox: copying out runs no user code", () => {
  it("a Symbol.toStringTag getter is not called", async () => {
    const sandbox = new Sandbox("() => { globalThis.ran = false; return { get [Symbol.toStringTag]() { globalThis.ran = true; return 'X' } } }", { filename: "t" });
    const outcome = await sandbox.call([]);
    expect(outcome.ok).toBe(false);
    expect((outcome as { error: Error }).error.message).toMatch(/Symbol.toStringTag getter/);
    expect(await sandbox.call([])).toMatchObject({ ok: false });
  });

  it("a Proxy as a prototype, of a result or of a thrown error, is not asked anything", async () => {
    // (`then` is read by the function's own promise resolution, as for any object it returns.)
    const traps = "{ get(_, key) { if (key === 'then') return undefined; throw new Error('trap ran') }, getOwnPropertyDescriptor() { throw new Error('trap ran') }, getPrototypeOf() { throw new Error('trap ran') } }";
    const result = await thrown(`() => Object.create(new Proxy({}, ${traps}))`);
    expect(result.message).toMatch(/Proxy as a prototype/);
    const error = await thrown(`() => { const e = new RangeError("m"); Object.setPrototypeOf(e, new Proxy({}, ${traps})); throw e }`);
    expect([error.name, error.message]).toEqual(["Error", "m"]);
  });

  it("an error's message, name and a class's name are read only when they are primitives", async () => {
    const error = await thrown(`() => {
      const e = new Error("x");
      Object.defineProperty(e, "message", { value: { toString() { throw new Error("toString ran") } } });
      Object.defineProperty(e, "name", { value: { toString() { throw new Error("toString ran") } } });
      throw e;
    }`);
    expect([error.name, error.message]).toEqual(["Error", ""]);
    const instance = await thrown("() => { class C { static name = { toString() { throw new Error('toString ran') } } } return new C() }");
    expect(instance).toBeInstanceOf(SerializationError);
  });
});

describe("sandbox: timers are bounded", () => {
  it(`a call may have ${MAX_TIMERS} timers pending; more throw a RangeError of the sandbox`, async () => {
    expect(await value("() => { let n = 0; try { for (;;) { setTimeout(() => {}, 1e9); n++ } } catch (e) { return [n, e instanceof RangeError, e.message] } }"))
      .toEqual([MAX_TIMERS, true, `too many timers: a call may have ${MAX_TIMERS} pending at once`]);
  });

  it("intervals still pending when a call settles never fire again, and the next call may set timers again", async () => {
    const sandbox = new Sandbox(`(phase) => {
      if (phase === "flood") {
        globalThis.ticks = 0;
        for (let i = 0; i < 1000; i++) setInterval(() => { globalThis.ticks++ }, 0);
        return new Promise((resolve) => setTimeout(() => resolve("flooded"), 20));
      }
      const before = globalThis.ticks;
      return new Promise((resolve) => setTimeout(() => resolve([before > 0, globalThis.ticks === before]), 30));
    }`, { filename: "t" });
    expect(await sandbox.call(["flood"])).toEqual({ ok: true, value: "flooded" });
    expect(await sandbox.call(["check"])).toEqual({ ok: true, value: [true, true] });
  });

  it("a delay past Node's longest timer does not fire at once", async () => {
    const sandbox = new Sandbox("() => new Promise((resolve) => { setTimeout(() => resolve('too early'), 2 ** 40); setTimeout(() => resolve('in order'), 10) })", { filename: "t" });
    expect(await sandbox.call([])).toEqual({ ok: true, value: "in order" });
  });
});
