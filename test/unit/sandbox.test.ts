import { describe, expect, it } from "vitest";
import { Sandbox } from "../../system/executor/sandbox.js";
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
