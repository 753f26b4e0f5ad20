/**
 * The host reads a call's outcome without consulting anything the function can change (issue
 * 14, defect 5): no `then`, `constructor` or `Symbol.species` of the sandbox is looked up, a
 * thrown value is read only through the copy that results get, and the executor's per-call
 * state is cleared whatever the call did. Run through a real ExecutorPool with one executor,
 * so that every call below runs on the same thread, and a function called again finds its
 * sandbox (and its tampering) as it left it. Each function counts, in a global of its own
 * sandbox, every run of the code it planted; a later call of the same function returns the
 * count, which must be 0.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecutorPool } from "../../system/executor/pool.js";
import { attack, expectFailure, expectServing, hostile, useIsolationScratch } from "../support/isolation.js";

useIsolationScratch();

/** A function that plants `code` when called with "plant", and returns how often it ran when called with "count". */
const planting = (code: string) =>
  hostile(`
    globalThis.runs = globalThis.runs || 0;
    if (phase === "count") return globalThis.runs;
    ${code}`, "phase");

describe("the host reads a call's outcome without consulting what the function can change", () => {
  let pool: ExecutorPool;
  let functions = 0;
  beforeAll(() => {
    pool = new ExecutorPool({ executors: 1, memoryMb: 128, name: "host-reads" });
  });
  afterAll(async () => {
    await pool?.close();
  });

  /** Plants, then checks through two later calls of the same function that the planted code never ran, and that another function is served. */
  async function plantThenCount(code: string) {
    const functionId = `planting-${++functions}`;
    const planted = await attack(pool, planting(code), { functionId, args: ["plant"] });
    const counts = [];
    for (let i = 0; i < 2; i++) {
      const counted = await attack(pool, planting(code), { functionId, args: ["count"] });
      counts.push([counted.status, counted.value]);
    }
    await expectServing(pool);
    return { planted, counts };
  }

  describe("a function that tampers with Promise does not wedge its executor, and its tampering is never consulted", () => {
    it.each([
      ["Promise.prototype.constructor is an object whose Symbol.species throws", "Promise.prototype.constructor = { [Symbol.species]: function () { globalThis.runs++; throw new Error('species ran') } }"],
      ["Promise.prototype.constructor is a getter that throws", "Object.defineProperty(Promise.prototype, 'constructor', { get() { globalThis.runs++; throw new Error('constructor read') } })"],
      ["Promise[Symbol.species] is a getter that throws", "Object.defineProperty(Promise, Symbol.species, { get() { globalThis.runs++; throw new Error('species read') } })"],
      ["the species is a constructor that never calls its executor", "Promise.prototype.constructor = { [Symbol.species]: function () { globalThis.runs++ } }"],
      ["Promise.prototype.then throws", "Promise.prototype.then = function () { globalThis.runs++; throw new Error('then ran') }"],
    ])("%s: the call returns, the same function's later calls and another function's complete", async (_name, tampering) => {
      const { planted, counts } = await plantThenCount(`${tampering};\nreturn "tampered";`);
      expect([planted.status, planted.value], planted.result).toEqual(["COMPLETED", "tampered"]);
      expect(counts).toEqual([["COMPLETED", 0], ["COMPLETED", 0]]);
    });
  });

  describe("a thrown Proxy is refused with a SerializationError, and none of its traps runs", () => {
    // Every trap there is, each counting its runs.
    const proxy = `
      const handler = {};
      for (const trap of Object.getOwnPropertyNames(Reflect)) handler[trap] = (...args) => { globalThis.runs++; return Reflect[trap](...args) };
      const thrown = new Proxy(new Error("inside a Proxy"), handler);`;
    it.each([
      ["thrown by the function", "throw thrown"],
      ["the rejection of the promise it returns", "return Promise.reject(thrown)"],
      ["thrown by a timer callback", "setTimeout(() => { throw thrown }, 0); return new Promise(() => {})"],
      ["thrown by the Symbol.species the host would consult to read the outcome", "Promise.prototype.constructor = { [Symbol.species]: function () { throw thrown } }; throw thrown"],
    ])("%s", async (_name, how) => {
      const { planted, counts } = await plantThenCount(`${proxy}\n${how}`);
      expectFailure(planted, "SerializationError", /^thrown value is a Proxy, which cannot be serialized$/);
      expect(counts).toEqual([["COMPLETED", 0], ["COMPLETED", 0]]);
    });
  });

  describe("copying a result out runs no user code", () => {
    it("a RegExp is read through the host's own flag getters, not the sandbox's RegExp.prototype", async () => {
      const flags = ["hasIndices", "global", "ignoreCase", "multiline", "dotAll", "unicode", "unicodeSets", "sticky"];
      const { planted, counts } = await plantThenCount(`
        for (const flag of ${JSON.stringify(flags)}) Object.defineProperty(RegExp.prototype, flag, { get() { globalThis.runs++; return true }, configurable: true });
        Object.defineProperty(RegExp.prototype, "flags", { get() { globalThis.runs++; return "y" }, configurable: true });
        return [/x/gi, /y/su];`);
      expect(planted.status, planted.result).toBe("COMPLETED");
      expect(planted.value.map((r: RegExp) => [r.source, r.flags])).toEqual([["x", "gi"], ["y", "su"]]);
      expect(counts).toEqual([["COMPLETED", 0], ["COMPLETED", 0]]);
    });

    it("an ArrayBuffer is copied without its Symbol.species (ArrayBuffer.prototype.slice would call it)", async () => {
      const { planted, counts } = await plantThenCount(`
        ArrayBuffer.prototype.constructor = { [Symbol.species]: function (length) { globalThis.runs++; return new ArrayBuffer(length) } };
        const bytes = new Uint8Array([1, 2, 3]);
        return [bytes.buffer, bytes];`);
      expect(planted.status, planted.result).toBe("COMPLETED");
      const [buffer, view] = planted.value as [ArrayBuffer, Uint8Array];
      expect(buffer).toBeInstanceOf(ArrayBuffer);
      expect([...new Uint8Array(buffer)]).toEqual([1, 2, 3]);
      expect(view).toBeInstanceOf(Uint8Array);
      expect([...view]).toEqual([1, 2, 3]);
      expect(counts).toEqual([["COMPLETED", 0], ["COMPLETED", 0]]);
    });
  });
});
