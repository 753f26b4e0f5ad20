/**
 * The wall around user code, inside one executor thread. Each function gets its own `vm`
 * context whose global object has a null prototype, with code generation from strings
 * (eval, new Function) switched off, so nothing in it leads back to the host's `Function`.
 * Its only link to the host is a bridge of callbacks held in a closure that user code cannot
 * name: timers, and the settling of a call. `import()` is refused when the source is
 * parsed, because Node rejects it with a host-realm error.
 *
 * No host-realm error may ever reach user code, and a function can provoke one by calling
 * host code with the call stack nearly exhausted, so that the stack overflows inside it:
 *  - every call into the bridge goes through a guard that replaces whatever the host threw
 *    with an error of the sandbox's own;
 *  - errors made in the sandbox capture no stack trace (`Error.stackTraceLimit` is locked to
 *    undefined), because formatting one runs Node's host-side `prepareStackTrace`, which user
 *    code could make overflow by reading `.stack` deep in a recursion.
 *
 * The executor thread adds the deadline and memory limit around this (see threads.ts), and
 * the executor host process is the second wall (see host.ts).
 */
import vm from "node:vm";
import { checkFunctionSource, functionExpression } from "../codec/function.js";
import { copyIntoSandbox, copyOutOfSandbox, SerializationError, type Intrinsics } from "./realm.js";

/** What a call ended with, already copied out of the sandbox. */
export type CallOutcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** The host side of the bridge; every method catches its own errors (a host error must never reach user code). */
interface Bridge {
  /** Returns the timer's id, or 0 when the call has as many pending timers as it may. */
  setTimer(repeat: boolean, callback: () => void, delay: number): number;
  clearTimer(id: number): void;
  settle(ok: boolean, value: unknown): void;
}

/** Pending timers one call may have; past it setTimeout throws a RangeError (a flood stays bounded). */
export const MAX_TIMERS = 10_000;
/** Node's longest timer delay; a longer one would fire after 1 ms (and print a warning). */
const MAX_DELAY_MS = 2 ** 31 - 1;

// Evaluated inside the context before any user code, in strict mode. It captures the
// intrinsics it relies on so that user code that replaces them cannot intercept a call.
// `then` looks up its promise's `constructor` and that constructor's Symbol.species, which
// user code can replace (Promise.prototype.constructor, Promise[Symbol.species]): the bridge
// calls it only on promises of its own, never shown to user code, given an own `constructor`
// whose species is the captured Promise, so no lookup reaches anything user code can change.
const BRIDGE_SOURCE = `(function installBridge(bridge) {
  "use strict";
  const apply = Reflect.apply;
  const defineProperty = Object.defineProperty;
  const then = Promise.prototype.then;
  const PromiseConstructor = Promise;
  const TypeErrorConstructor = TypeError;
  const RangeErrorConstructor = RangeError;
  const pristine = Object.freeze({ __proto__: null, [Symbol.species]: PromiseConstructor });
  // A promise of the bridge's own, whose \`then\` runs no user code; settled by \`start\` as the Promise constructor settles any.
  const ownPromise = (start) => defineProperty(new PromiseConstructor(start), "constructor", { value: pristine });
  const whenSettled = (promise, onFulfilled, onRejected) => apply(then, promise, [onFulfilled, onRejected]);
  Object.defineProperty(Error, "stackTraceLimit", { value: undefined, writable: false, configurable: false });
  // A host function throws host-realm errors (a stack overflow inside it, say): user code gets one of its own instead.
  const host = (method) => function (a, b, c) {
    try {
      return apply(method, bridge, [a, b, c]);
    } catch {
      throw new RangeErrorConstructor("Maximum call stack size exceeded (in a call to the sandbox's host)");
    }
  };
  const setTimer = host(bridge.setTimer);
  const clearTimer = host(bridge.clearTimer);
  const settle = host(bridge.settle);
  const define = (name, value) => Object.defineProperty(globalThis, name, { value, writable: true, configurable: true });
  const timer = (repeat) => function (callback, delay, ...args) {
    if (typeof callback !== "function") throw new TypeErrorConstructor("the callback must be a function");
    const id = setTimer(repeat, () => apply(callback, undefined, args), Number(delay) || 0);
    if (id === 0) throw new RangeErrorConstructor("too many timers: a call may have ${MAX_TIMERS} pending at once");
    return id;
  };
  const clear = function (id) { clearTimer(Number(id)); };
  define("setTimeout", timer(false));
  define("setInterval", timer(true));
  define("clearTimeout", clear);
  define("clearInterval", clear);
  define("queueMicrotask", function (callback) { whenSettled(ownPromise((resolve) => resolve()), () => callback()); });
  const discard = function () {};
  define("console", Object.freeze({ log: discard, info: discard, warn: discard, error: discard, debug: discard }));
  const intrinsics = { Object, Array, Map, Set, Date, RegExp, Error, ArrayBuffer, DataView,
    Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
    Float32Array, Float64Array, BigInt64Array, BigUint64Array };
  const fulfilled = (value) => settle(true, value);
  const rejected = (error) => settle(false, error);
  // Never throws: whatever the call does (throws, returns a thenable, tampers with Promise) ends in one settle.
  function invoke(fn, args) {
    whenSettled(ownPromise((resolve) => resolve(apply(fn, undefined, args))), fulfilled, rejected);
  }
  return { intrinsics, invoke };
})`;

/**
 * What a copy across the wall failed with, as a SerializationError. Copying runs no user code,
 * so the error is the host's own: a SerializationError is passed on; a stack overflow means a
 * value nested too deeply; anything else is not passed on (its stack is the host's).
 */
function unreadable(error: unknown, what: string, verb: string): SerializationError {
  if (error instanceof SerializationError) return error;
  if (error instanceof RangeError && /call stack/i.test(error.message)) return new SerializationError(`the ${what} is nested too deeply to be ${verb}`);
  return new SerializationError(`the ${what} cannot be ${verb}`);
}

export interface SandboxOptions {
  /** Shown in stack traces of the function, e.g. the function id. */
  filename: string;
}

/** One function, compiled once in its own context, called any number of times (one call at a time). */
export class Sandbox {
  private readonly intrinsics: Intrinsics;
  private readonly invoke: (fn: unknown, args: unknown) => void;
  private readonly fn: unknown;
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private nextTimerId = 1;
  private pending: ((outcome: CallOutcome) => void) | undefined;

  constructor(source: string, options: SandboxOptions) {
    const context = vm.createContext(Object.create(null), {
      name: options.filename,
      codeGeneration: { strings: false, wasm: false },
    });
    const install = vm.runInContext(BRIDGE_SOURCE, context, { filename: "faaslab:bridge" }) as (bridge: Bridge) => {
      intrinsics: Intrinsics;
      invoke: (fn: unknown, args: unknown) => void;
    };
    const { intrinsics, invoke } = install(this.bridge());
    this.intrinsics = intrinsics;
    this.invoke = invoke;
    // Checked here as well as at registration: the wall must not depend on its callers.
    this.fn = new vm.Script(functionExpression(checkFunctionSource(source)), { filename: options.filename }).runInContext(context);
  }

  /**
   * Calls the function with arguments given as host values; resolves when it settles, and
   * never rejects. The outcome holds only host values: a copy of what the function returned
   * or threw, or a SerializationError.
   */
  call(args: unknown[]): Promise<CallOutcome> {
    if (this.pending) throw new Error("a sandbox runs one call at a time");
    return new Promise<CallOutcome>((resolve) => {
      this.pending = resolve;
      let sandboxArgs: unknown;
      try {
        sandboxArgs = copyIntoSandbox(args, this.intrinsics);
      } catch (error) {
        this.finish({ ok: false, error: unreadable(error, "arguments", "copied into the sandbox") });
        return;
      }
      try {
        this.invoke(this.fn, sandboxArgs);
      } catch {
        // The bridge's invoke does not throw; if it ever did, what it threw is not read (it
        // may be anything of the sandbox's), and the call must not stay pending.
        this.finish({ ok: false, error: new SerializationError("the call could not be started, and what it threw is not read") });
      }
    });
  }

  /** Fails the running call, e.g. with an error thrown by one of its timer callbacks. */
  private finish(outcome: CallOutcome): void {
    const resolve = this.pending;
    if (!resolve) return;
    this.pending = undefined;
    // A call's timers end with it, so a late callback never runs during another call.
    for (const handle of this.timers.values()) clearTimeout(handle);
    this.timers.clear();
    resolve(outcome);
  }

  /** Ends the running call with a copy of what it returned or threw; the call is over whatever the copy does. */
  private settle(ok: boolean, value: unknown): void {
    if (!this.pending) return;
    const what = ok ? "result" : "thrown value";
    let outcome: CallOutcome | undefined;
    try {
      const copied = copyOutOfSandbox(value, undefined, what);
      outcome = ok ? { ok: true, value: copied } : { ok: false, error: copied };
    } catch (error) {
      outcome = { ok: false, error: unreadable(error, what, "copied") };
    } finally {
      this.finish(outcome ?? { ok: false, error: new SerializationError(`the ${what} cannot be read`) });
    }
  }

  private bridge(): Bridge {
    return {
      setTimer: (repeat, callback, delay) => {
        if (this.timers.size >= MAX_TIMERS) return 0;
        const id = this.nextTimerId++;
        if (!this.pending) return id; // a timer set outside any call never fires
        const fire = () => {
          if (!repeat) this.timers.delete(id);
          try {
            callback();
          } catch (error) {
            this.settle(false, error);
          }
        };
        const ms = Math.min(Math.max(delay, 0), MAX_DELAY_MS);
        this.timers.set(id, repeat ? setInterval(fire, ms) : setTimeout(fire, ms));
        return id;
      },
      clearTimer: (id) => {
        const handle = this.timers.get(id);
        if (handle) clearTimeout(handle);
        this.timers.delete(id);
      },
      settle: (ok, value) => this.settle(ok, value),
    };
  }
}
