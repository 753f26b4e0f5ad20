/**
 * The MPCSFaaS wire format for Python: `base64(dill.dumps(obj))`, with a newline every 76
 * characters as Python's base64 codec writes it. faaslab never unpickles (unpickling runs
 * code): it checks a payload's framing here and leaves the rest to the sandboxed Python
 * executor. The one pickle it writes itself is a built-in exception, so that an error faaslab
 * raises for a Python task (a deadline, a lost worker) is one any Python client can
 * `deserialize` without faaslab installed.
 */
import type { TaskErrorName } from "../task.js";
import { deserialize } from "./index.js";

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

/** What `pickledArguments` can carry into Python: JSON-like values, bigints as ints. */
export type PythonValue = null | boolean | number | bigint | string | PythonValue[] | { [key: string]: PythonValue };

/**
 * `serialize(((args...), {kwargs}))` in the MPCSFaaS format, for the SDK and the harness: a
 * protocol 2 pickle, written by hand, of the arguments as a tuple and the keyword arguments
 * as a dict. Values map as JSON's do to Python's (null to None, arrays to lists, objects to
 * dicts); a number that is an integer becomes an int, any other a float.
 */
export function pickledArguments(args: readonly PythonValue[], kwargs: Record<string, PythonValue> = {}): string {
  const out: Buffer[] = [Buffer.from([PROTO, 2])];
  const op = (...bytes: number[]): void => void out.push(Buffer.from(bytes));
  const write = (value: PythonValue, depth: number): void => {
    if (depth > 1000) throw new TypeError("the arguments are nested too deeply to pickle");
    if (value === null) return op(0x4e); // NONE
    if (value === true) return op(0x88); // NEWTRUE
    if (value === false) return op(0x89); // NEWFALSE
    if (typeof value === "bigint" || (typeof value === "number" && Number.isSafeInteger(value))) return writeInt(BigInt(value));
    if (typeof value === "number") {
      const bytes = Buffer.alloc(9);
      bytes[0] = 0x47; // BINFLOAT, big-endian
      bytes.writeDoubleBE(value, 1);
      return void out.push(bytes);
    }
    if (typeof value === "string") {
      const text = Buffer.from(value, "utf8");
      const length = Buffer.alloc(5);
      length[0] = 0x58; // BINUNICODE
      length.writeUInt32LE(text.length, 1);
      return void out.push(length, text);
    }
    if (Array.isArray(value)) {
      op(0x5d); // EMPTY_LIST
      if (value.length === 0) return;
      op(0x28); // MARK
      for (const item of value) write(item, depth + 1);
      return op(0x65); // APPENDS
    }
    if (typeof value === "object") {
      op(0x7d); // EMPTY_DICT
      const entries = Object.entries(value);
      if (entries.length === 0) return;
      op(0x28); // MARK
      for (const [key, item] of entries) {
        write(key, depth + 1);
        write(item, depth + 1);
      }
      return op(0x75); // SETITEMS
    }
    throw new TypeError(`a ${typeof value} cannot be an argument of a Python function`);
  };
  /** LONG1: a little-endian two's complement integer of as many bytes as it needs. */
  const writeInt = (n: bigint): void => {
    const bytes: number[] = [];
    let rest = n;
    do {
      bytes.push(Number(rest & 0xffn));
      rest >>= 8n;
    } while (!((rest === 0n && (bytes[bytes.length - 1] & 0x80) === 0) || (rest === -1n && (bytes[bytes.length - 1] & 0x80) !== 0)));
    op(0x8a, bytes.length, ...bytes);
  };
  op(0x28); // MARK: the tuple of arguments
  for (const arg of args) write(arg, 1);
  op(0x74); // TUPLE
  write(kwargs, 1);
  op(0x86, STOP); // TUPLE2, STOP
  return pythonBase64(Buffer.concat(out));
}

/** A Python object that `unpickledData` cannot make a JavaScript value of: its class, and what it was made from. */
export class PythonObject {
  constructor(readonly pythonClass: string, readonly args: unknown[], readonly state?: unknown) {}
}

/** An exception a Python function raised (or faaslab raised for it), as the SDK shows it. */
export class PythonException extends Error {
  constructor(readonly pythonClass: string, message: string, readonly args: unknown[]) {
    super(message);
    this.name = pythonClass.replace(/^builtins\./, "");
  }
}

/** A class or function a pickle names (GLOBAL): never looked up. */
class PythonName {
  constructor(readonly name: string) {}
}

class PickleMark {}
const MARK_OBJECT = new PickleMark();

/**
 * Reads a pickle of plain data back into JavaScript, for the SDK and the harness: None, bools,
 * ints (as numbers when safe, else bigints), floats, str, bytes (Buffer), lists, tuples (arrays),
 * dicts (Maps when a key is not a string, else plain objects), sets, and objects made by a
 * class and arguments (a class is never looked up or called: a built-in exception becomes a
 * PythonException, anything else a PythonObject). Nothing runs: any opcode outside that data
 * is refused with an Error.
 */
export function unpickledData(payload: string): unknown {
  const bytes = base64Bytes(payload);
  if (bytes === null) throw new Error("not base64");
  let at = 0;
  const stack: unknown[] = [];
  const memo: unknown[] = [];
  const need = (n: number) => {
    if (at + n > bytes.length) throw new Error("the pickle is cut short");
    const start = at;
    at += n;
    return start;
  };
  const u8 = () => bytes[need(1)];
  const text = (n: number) => bytes.toString("utf8", need(n), at);
  const popMark = (): unknown[] => {
    for (let i = stack.length - 1; i >= 0; i--) if (stack[i] === MARK_OBJECT) return stack.splice(i).slice(1);
    throw new Error("no MARK in the pickle");
  };
  const top = () => stack[stack.length - 1];
  const int = (bytesLE: Buffer): number | bigint => {
    if (bytesLE.length === 0) return 0;
    let n = 0n;
    for (let i = bytesLE.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytesLE[i]);
    if (bytesLE[bytesLE.length - 1] & 0x80) n -= 1n << BigInt(8 * bytesLE.length);
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
  };
  const setItems = (target: unknown, items: unknown[]) => {
    for (let i = 0; i + 1 < items.length; i += 2) {
      if (target instanceof Map) target.set(items[i], items[i + 1]);
      else if (typeof items[i] === "string") (target as Record<string, unknown>)[items[i] as string] = items[i + 1];
      else throw new Error("a dict key that is not a string (read it as a Map is not supported here)");
    }
  };
  const made = (cls: unknown, args: unknown[]): unknown => {
    const name = cls instanceof PythonName ? cls.name : cls instanceof PythonObject ? cls.pythonClass : String(cls);
    // dill names a built-in type through a loader: dill._dill._load_type("ValueError").
    if (name === "dill._dill._load_type" && typeof args[0] === "string") return new PythonName(`builtins.${args[0]}`);
    if (/^builtins\.[A-Za-z]*(Error|Exception|Exit|Interrupt)$/.test(name)) return new PythonException(name, typeof args[0] === "string" ? args[0] : args.map(String).join(", "), args);
    return new PythonObject(name, args);
  };
  for (;;) {
    const opcode = u8();
    switch (opcode) {
      case 0x80: u8(); break; // PROTO
      case 0x95: need(8); break; // FRAME
      case 0x2e: if (stack.length !== 1) throw new Error("a malformed pickle"); return stack[0]; // STOP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break;
      case 0x89: stack.push(false); break;
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(bytes.readUInt16LE(need(2))); break; // BININT2
      case 0x4a: stack.push(bytes.readInt32LE(need(4))); break; // BININT
      case 0x8a: { const n = u8(); stack.push(int(bytes.subarray(need(n), at))); break; } // LONG1
      case 0x8b: { const n = bytes.readUInt32LE(need(4)); stack.push(int(bytes.subarray(need(n), at))); break; } // LONG4
      case 0x47: stack.push(bytes.readDoubleBE(need(8))); break; // BINFLOAT
      case 0x8c: stack.push(text(u8())); break; // SHORT_BINUNICODE
      case 0x58: stack.push(text(bytes.readUInt32LE(need(4)))); break; // BINUNICODE
      case 0x8d: stack.push(text(Number(bytes.readBigUInt64LE(need(8))))); break; // BINUNICODE8
      case 0x43: { const n = u8(); stack.push(Buffer.from(bytes.subarray(need(n), at))); break; } // SHORT_BINBYTES
      case 0x42: { const n = bytes.readUInt32LE(need(4)); stack.push(Buffer.from(bytes.subarray(need(n), at))); break; } // BINBYTES
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x7d: stack.push({}); break; // EMPTY_DICT
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x28: stack.push(MARK_OBJECT); break; // MARK
      case 0x85: stack.push([stack.pop()]); break; // TUPLE1
      case 0x86: { const b = stack.pop(); const a = stack.pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = stack.pop(); const b = stack.pop(); const a = stack.pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x91: stack.push(new Set(popMark())); break; // FROZENSET
      case 0x61: { const item = stack.pop(); (top() as unknown[]).push(item); break; } // APPEND
      case 0x65: { const items = popMark(); (top() as unknown[]).push(...items); break; } // APPENDS
      case 0x73: { const value = stack.pop(); const key = stack.pop(); setItems(top(), [key, value]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x90: { const items = popMark(); for (const item of items) (top() as Set<unknown>).add(item); break; } // ADDITEMS
      case 0x94: memo.push(top()); break; // MEMOIZE
      case 0x71: memo[u8()] = top(); break; // BINPUT
      case 0x72: memo[bytes.readUInt32LE(need(4))] = top(); break; // LONG_BINPUT
      case 0x68: stack.push(memo[u8()]); break; // BINGET
      case 0x6a: stack.push(memo[bytes.readUInt32LE(need(4))]); break; // LONG_BINGET
      case 0x63: { // GLOBAL "module\nname\n": a class named, never looked up
        const end1 = bytes.indexOf(0x0a, at);
        const end2 = bytes.indexOf(0x0a, end1 + 1);
        if (end1 < 0 || end2 < 0) throw new Error("a malformed GLOBAL");
        const name = `${bytes.toString("latin1", at, end1)}.${bytes.toString("latin1", end1 + 1, end2)}`;
        at = end2 + 1;
        stack.push(new PythonName(name));
        break;
      }
      case 0x93: { const name = stack.pop(); const module = stack.pop(); stack.push(new PythonName(`${String(module)}.${String(name)}`)); break; } // STACK_GLOBAL
      case 0x52: { const args = stack.pop() as unknown[]; const cls = stack.pop(); stack.push(made(cls, args)); break; } // REDUCE
      case 0x81: { const args = stack.pop() as unknown[]; const cls = stack.pop(); stack.push(made(cls, args)); break; } // NEWOBJ
      case 0x62: { // BUILD: the object's state (an exception's __dict__ or __setstate__ argument)
        const state = stack.pop();
        const object = top();
        if (object instanceof PythonObject) stack[stack.length - 1] = new PythonObject(object.pythonClass, object.args, state);
        break;
      }
      default:
        throw new Error(`opcode 0x${opcode.toString(16)} is not plain data: read this result with Python (dill)`);
    }
  }
}

/**
 * A result or error as a value, whichever runtime's it is: faaslab's codec, or a Python task's
 * pickle read as plain data (one holding more than plain data, such as an object of the
 * function's own class, gives undefined: read it with Python and dill). Throws on text that is
 * neither.
 */
export function decodedResult(result: string): unknown {
  if (!isPicklePayload(result)) return deserialize(result);
  try {
    return unpickledData(result);
  } catch {
    return undefined;
  }
}

/**
 * The name and message of a decoded error: a Python exception that faaslab raised (its message
 * starts with faaslab's name, as pythonTaskError writes it) is named by faaslab's name.
 */
export function errorNameAndMessage(error: unknown): { name: string; message: string } {
  if (error instanceof PythonException) {
    const faaslab = /^([A-Za-z]+): ([\s\S]*)$/.exec(error.message);
    const name = faaslab?.[1] as TaskErrorName | undefined;
    if (name !== undefined && PYTHON_EXCEPTION_FOR[name] === error.name) return { name, message: faaslab![2] };
    return { name: error.name, message: error.message };
  }
  const fields = error as { name?: unknown; message?: unknown } | null;
  return {
    name: typeof fields?.name === "string" ? fields.name : "Error",
    message: typeof fields?.message === "string" ? fields.message : String(error),
  };
}
