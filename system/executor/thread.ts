/**
 * An executor: one worker thread of the pool (piscina runs this file). It keeps one sandbox
 * per function, so a warm function is compiled once, and turns each call's outcome into
 * codec text. The pool around it enforces the deadline and the memory limit.
 */
import { threadId } from "node:worker_threads";
import { deserialize, serialize } from "../codec/index.js";
import { serializedTaskError, type TerminalStatus } from "../task.js";
import { SerializationError } from "./realm.js";
import { Sandbox, type CallOutcome } from "./sandbox.js";

export interface ExecutorTask {
  functionId: string;
  source: string;
  /** The serialized argument array. */
  args: string;
}

export interface ExecutorResult {
  status: TerminalStatus;
  result: string;
  threadId: number;
}

const SANDBOX_CACHE_SIZE = 64;
const sandboxes = new Map<string, Sandbox>();

// A floating rejection in user code must not bring the executor down.
process.on("unhandledRejection", () => {});

export default async function execute(task: ExecutorTask): Promise<ExecutorResult> {
  let outcome: CallOutcome;
  try {
    const args = deserialize(task.args);
    if (!Array.isArray(args)) throw new TypeError("the arguments payload is not an array");
    outcome = await sandboxFor(task).call(args);
  } catch (error) {
    outcome = { ok: false, error };
  }
  return { ...encode(outcome), threadId };
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

function encode(outcome: CallOutcome): { status: TerminalStatus; result: string } {
  if (outcome.ok) {
    try {
      return { status: "COMPLETED", result: serialize(outcome.value) };
    } catch (error) {
      return { status: "FAILED", result: serializedTaskError("SerializationError", `the result cannot be serialized: ${(error as Error).message}`) };
    }
  }
  const { error } = outcome;
  if (error instanceof SerializationError) return { status: "FAILED", result: serializedTaskError("SerializationError", error.message) };
  try {
    return { status: "FAILED", result: serialize(error instanceof Error ? error : nonErrorThrown(error)) };
  } catch {
    return { status: "FAILED", result: serialize(nonErrorThrown(String(error))) };
  }
}

function nonErrorThrown(value: unknown): Error {
  return new Error(`the function threw a value that is not an Error: ${describe(value)}`, { cause: value });
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
  if (typeof value === "object" && value !== null) return Array.isArray(value) ? "an array" : "an object";
  return String(value);
}
