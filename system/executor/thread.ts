/**
 * An executor: one worker thread of the pool (in the executor host, host-thread.ts serves it
 * over the executor channel; with isolation "thread", piscina runs it). It keeps one sandbox
 * per function, so a warm function is compiled once, and turns each call's outcome into
 * codec text, refusing text over the result size limit. What runs the thread enforces the
 * deadline and the memory limit (host-process.ts and host.ts, or threads.ts).
 */
import { threadId, workerData } from "node:worker_threads";
import { CodecError, deserialize, serialize } from "../codec/index.js";
import { InvalidFunctionError } from "../codec/function.js";
import { serializedTaskError, type TerminalStatus } from "../task.js";
import { DEFAULT_MAX_RESULT_BYTES, type ExecutorOutcome, type ExecutorTask } from "./contract.js";
import { SerializationError } from "./realm.js";
import { Sandbox, type CallOutcome } from "./sandbox.js";

/** What every executor thread is started with (its workerData, with more for host-thread.ts). */
export interface ThreadSettings {
  /** The longest serialized result (or thrown error) a task may produce, in UTF-8 bytes. */
  maxResultBytes: number;
  /** The pool's name: this thread is `<name>/thread-<threadId>` in the outcomes it gives. */
  name: string;
}

const SANDBOX_CACHE_SIZE = 64;
const settings = (workerData as Partial<ThreadSettings> | null) ?? {};
const maxResultBytes = settings.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES;
const executor = `${settings.name ?? "executor"}/thread-${threadId}`;
const sandboxes = new Map<string, Sandbox>();

// A floating rejection in user code must not bring the executor down.
process.on("unhandledRejection", () => {});

export default async function execute(task: ExecutorTask): Promise<ExecutorOutcome> {
  let encoded: { status: TerminalStatus; result: string };
  const call = startCall(task);
  if ("refused" in call) encoded = { status: "FAILED", result: call.refused };
  else encoded = encode(await call.outcome);
  await drained();
  return { ...limitSize(encoded), executor };
}

/**
 * Decodes the arguments, finds the function's sandbox and starts the call. What the host
 * fails with before the call (arguments the codec cannot read, a source that does not
 * compile) is a task error of faaslab's own, with no stack: a host error's stack shows the
 * host's paths and modules.
 */
function startCall(task: ExecutorTask): { outcome: Promise<CallOutcome> } | { refused: string } {
  let args: unknown;
  try {
    args = deserialize(task.args);
  } catch {
    return { refused: serializedTaskError("SerializationError", "the arguments cannot be deserialized") };
  }
  if (!Array.isArray(args)) return { refused: serializedTaskError("SerializationError", "the arguments payload is not an array") };
  let sandbox: Sandbox;
  try {
    sandbox = sandboxFor(task);
  } catch (error) {
    // checkFunctionSource's InvalidFunctionError, or the SyntaxError of a source V8 does not compile.
    const why = error instanceof InvalidFunctionError ? error.message : `the function does not compile: ${error instanceof Error ? error.message : "unknown"}`;
    return { refused: serializedTaskError("InvalidFunctionError", why) };
  }
  try {
    return { outcome: sandbox.call(args) };
  } catch (error) {
    return { refused: serializedTaskError("ExecutorCrashed", `the executor could not start the call: ${error instanceof Error ? error.message : "unknown"}`) };
  }
}

/**
 * Resolves once the thread's microtask queue is empty, so the promise jobs a call left behind
 * run in its own time (and under its deadline): the next task may arrive at once,
 * which would otherwise run them inside that task.
 */
function drained(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function sandboxFor(task: ExecutorTask): Sandbox {
  let sandbox = sandboxes.get(task.functionId);
  if (sandbox) {
    sandboxes.delete(task.functionId); // re-insert: the Map's order is the LRU order
  } else {
    sandbox = new Sandbox(task.source, { filename: `function:${task.functionId}` });
    if (sandboxes.size >= SANDBOX_CACHE_SIZE) sandboxes.delete(sandboxes.keys().next().value!);
  }
  sandboxes.set(task.functionId, sandbox);
  return sandbox;
}

/**
 * A call's outcome as codec text. The outcome holds only host values (the sandbox's copy of
 * what the function returned or threw, or a SerializationError), so nothing here reads
 * anything of the sandbox's.
 */
function encode(outcome: CallOutcome): { status: TerminalStatus; result: string } {
  if (outcome.ok) {
    try {
      return { status: "COMPLETED", result: serialize(outcome.value) };
    } catch (error) {
      return { status: "FAILED", result: serializedTaskError("SerializationError", `the result cannot be serialized: ${codecTrouble(error)}`) };
    }
  }
  const { error } = outcome;
  if (error instanceof SerializationError) return { status: "FAILED", result: serializedTaskError("SerializationError", error.message) };
  try {
    return { status: "FAILED", result: serialize(error instanceof Error ? error : nonErrorThrown(error)) };
  } catch (trouble) {
    // The thrown value is a copy made of plain data, but data the codec cannot carry (or turn into text).
    return { status: "FAILED", result: serializedTaskError("SerializationError", `the thrown value (${describe(error)}) cannot be serialized: ${codecTrouble(trouble)}`) };
  }
}

/** Why the codec refused a copied value, in a few words (its own message can be a path as deep as the value). */
function codecTrouble(error: unknown): string {
  if (error instanceof CodecError && /call stack/i.test(error.message)) return "it is nested too deeply";
  const message = error instanceof Error ? error.message.replace(/^cannot serialize: /, "") : "unknown";
  return message.length > 300 ? `${message.slice(0, 300)}…` : message;
}

/** A result over the limit is replaced by a ResultTooLarge error, so it never travels further. */
function limitSize(encoded: { status: TerminalStatus; result: string }): { status: TerminalStatus; result: string } {
  const text = encoded.result;
  // A UTF-16 code unit is 1 to 3 UTF-8 bytes: count bytes only when the length cannot decide.
  if (text.length * 3 <= maxResultBytes) return encoded;
  const bytes = Buffer.byteLength(text);
  if (bytes <= maxResultBytes) return encoded;
  const what = encoded.status === "COMPLETED" ? "result" : "thrown error";
  return {
    status: "FAILED",
    result: serializedTaskError("ResultTooLarge", `the serialized ${what} is ${bytes} bytes, over the limit of ${maxResultBytes} bytes`),
  };
}

/** The Error a thrown non-Error becomes: the (copied) value is its cause, and it has no stack (it would be the host's). */
function nonErrorThrown(value: unknown): Error {
  const error = new Error(`the function threw a value that is not an Error: ${describe(value)}`, { cause: value });
  delete (error as { stack?: string }).stack;
  return error;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
  if (typeof value === "object" && value !== null) return Array.isArray(value) ? "an array" : "an object";
  return String(value);
}
