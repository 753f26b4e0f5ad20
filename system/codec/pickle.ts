/**
 * The MPCSFaaS wire format for Python: `base64(dill.dumps(obj))`, with a newline every 76
 * characters as Python's base64 codec writes it. faaslab never unpickles (unpickling runs
 * code): it checks a payload's framing here and leaves the rest to the sandboxed Python
 * executor. The one pickle it writes itself is a built-in exception, so that an error faaslab
 * raises for a Python task (a deadline, a lost worker) is one any Python client can
 * `deserialize` without faaslab installed.
 */
import type { TaskErrorName } from "../task.js";

/** Base64 (standard alphabet) with any line breaks or spaces between its characters. */
const BASE64 = /^[A-Za-z0-9+/\s]+={0,2}\s*$/;
const PROTO = 0x80;
const STOP = 0x2e;

/** The bytes of a base64 text, or null when it is not base64 (Node's decoder would skip bad characters silently). */
export function base64Bytes(text: string): Buffer | null {
  if (!BASE64.test(text)) return null;
  const compact = text.replace(/\s+/g, "");
  if (compact.length % 4 !== 0) return null;
  return Buffer.from(compact, "base64");
}

/**
 * Why `payload` is not base64 of a pickle, or null when it is framed as one: protocol 2 to 5
 * (what dill writes; it starts with the PROTO opcode) and ending with the STOP opcode.
 */
export function pickleFramingProblem(payload: string): string | null {
  const bytes = base64Bytes(payload);
  if (bytes === null) return "it is not base64";
  if (bytes.length < 3) return "it is too short to be a pickle";
  if (bytes[0] !== PROTO || bytes[1] < 2 || bytes[1] > 5) return "its bytes do not start as a pickle of protocol 2 to 5 does (as dill.dumps writes)";
  if (bytes[bytes.length - 1] !== STOP) return "its bytes do not end with a pickle's STOP opcode (is it cut short?)";
  return null;
}

export function isPicklePayload(payload: string): boolean {
  return pickleFramingProblem(payload) === null;
}

/** base64 as Python's `codecs.encode(..., "base64")` writes it: lines of 76 characters, each ending in a newline. */
export function pythonBase64(bytes: Buffer): string {
  const flat = bytes.toString("base64");
  let out = "";
  for (let i = 0; i < flat.length; i += 76) out += `${flat.slice(i, i + 76)}\n`;
  return out;
}

/** The built-in exception a Python client gets for each error faaslab raises; its message starts with faaslab's name. */
export const PYTHON_EXCEPTION_FOR: Record<TaskErrorName, string> = {
  DeadlineExceeded: "TimeoutError",
  ResourceLimitExceeded: "MemoryError",
  WorkerLost: "RuntimeError",
  SerializationError: "TypeError",
  ExecutorCrashed: "RuntimeError",
  ResultTooLarge: "ValueError",
  InvalidFunctionError: "ValueError",
  FunctionNotFound: "ImportError",
};

/**
 * `serialize(BuiltinException(message))` in the MPCSFaaS format, written by hand: a protocol 2
 * pickle of GLOBAL builtins.<name>, the message, TUPLE1, REDUCE, STOP.
 */
export function pickledBuiltinException(exceptionName: string, message: string): string {
  if (!/^[A-Za-z]+$/.test(exceptionName)) throw new Error(`not a built-in exception name: ${exceptionName}`);
  const text = Buffer.from(message, "utf8");
  const length = Buffer.alloc(4);
  length.writeUInt32LE(text.length);
  const bytes = Buffer.concat([
    Buffer.from([PROTO, 2]),
    Buffer.from(`cbuiltins\n${exceptionName}\n`, "latin1"),
    Buffer.from("X", "latin1"), length, text,
    Buffer.from([0x85, 0x52, STOP]), // TUPLE1, REDUCE, STOP
  ]);
  return pythonBase64(bytes);
}

/** A faaslab error for a Python task: the built-in exception its client gets, its message naming faaslab's error. */
export function pythonTaskError(name: TaskErrorName, message: string): string {
  return pickledBuiltinException(PYTHON_EXCEPTION_FOR[name], `${name}: ${message}`);
}
