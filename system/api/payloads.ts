/** A request's codec payloads, decoded and checked, with their faults as the API's 400 and 413 errors. */
import { CodecError } from "../codec/index.js";
import { decodeArgumentsPayload, decodeFunctionPayload, InvalidArgumentsError, InvalidFunctionError } from "../codec/function.js";
import { isPicklePayload, pickleFramingProblem } from "../codec/pickle.js";
import type { Runtime } from "../runtimes.js";
import { ApiError, type ApiErrorCode } from "./errors.js";

/** The checked source of a serialized function (400 INVALID_FUNCTION otherwise). */
export function functionSource(payload: string): string {
  return decoded(() => decodeFunctionPayload(payload), "INVALID_FUNCTION", "payload");
}

/** A function as it is stored: what runs it, and its payload for that runtime. */
export interface RegisteredFunction {
  source: string;
  runtime: Runtime;
}

/** A Python definition: a line that starts `def name(` or `async def name(`. */
const PYTHON_DEF = /^(async[ \t]+)?def[ \t]+[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/m;

/**
 * What a register_function payload is (400 INVALID_FUNCTION when it is nothing faaslab runs).
 * An explicit runtime wins; without one, faaslab's codec is JavaScript and base64 of a pickle is
 * Python (dill, as MPCSFaaS clients send it). A pickle is only checked for its framing: the API
 * never unpickles (that runs code), the sandboxed executor does.
 */
export function registeredFunction(payload: string, runtime: Runtime | undefined): RegisteredFunction {
  if (runtime === "javascript") return { source: functionSource(payload), runtime };
  const pickleProblem = pickleFramingProblem(payload);
  if (runtime === "python") {
    if (pickleProblem === null) return { source: payload, runtime };
    if (PYTHON_DEF.test(payload)) return { source: payload, runtime };
    throw new ApiError("INVALID_FUNCTION", `invalid payload: for runtime python, send base64 of a dill pickle of the function, or Python source that defines it (def name(...):); this is neither: as a pickle, ${pickleProblem}, and as source, it has no def`);
  }
  if (pickleProblem === null) return { source: payload, runtime: "python" };
  if (looksLikeCodec(payload)) return { source: functionSource(payload), runtime: "javascript" };
  throw new ApiError(
    "INVALID_FUNCTION",
    `invalid payload: it is neither faaslab's codec (a serialized JavaScript function) nor base64 of a pickle (dill.dumps of a Python function): as a pickle, ${pickleProblem}. ` +
      "Python source is accepted with \"runtime\": \"python\"",
  );
}

/** faaslab's codec is JSON (devalue's array form): it starts with "[" (or is a bare number, never a function). */
function looksLikeCodec(payload: string): boolean {
  return /^\s*[[\-0-9]/.test(payload);
}

/**
 * Which runtime's arguments a payload is: base64 of a pickle is Python's (of `((args...),
 * {kwargs})`, which only the executor unpickles); anything else must be faaslab's serialized
 * array of arguments (400 INVALID_ARGUMENTS otherwise).
 */
export function argumentsRuntime(payload: string, field = "payload"): Runtime {
  if (isPicklePayload(payload)) return "python";
  decoded(() => decodeArgumentsPayload(payload), "INVALID_ARGUMENTS", field);
  return "javascript";
}

/** Refuses (400 INVALID_ARGUMENTS) arguments of one runtime for a function of another. */
export function checkArgumentsFor(runtime: Runtime, given: Runtime, field = "payload"): void {
  if (runtime === given) return;
  throw new ApiError("INVALID_ARGUMENTS", runtime === "python"
    ? `invalid ${field}: the function is a Python function, which takes base64 of a pickle of ((args...), {kwargs}) (serialize(((1,), {})) in an MPCSFaaS client), not faaslab's codec`
    : `invalid ${field}: the function is a JavaScript function, which takes faaslab's serialized array of arguments, not a pickle`);
}

/** Refuses (413 ARGUMENTS_TOO_LARGE) arguments over `maxArgsBytes`. */
export function checkArgumentsSize(payload: string, maxArgsBytes: number, field = "payload"): void {
  const size = Buffer.byteLength(payload);
  if (size > maxArgsBytes) {
    throw new ApiError("ARGUMENTS_TOO_LARGE", `${field} is ${size} bytes; the arguments of a task may take at most ${maxArgsBytes} (--max-args-bytes)`);
  }
}

function decoded<T>(decode: () => T, code: ApiErrorCode, field: string): T {
  try {
    return decode();
  } catch (error) {
    if (error instanceof InvalidFunctionError || error instanceof InvalidArgumentsError || error instanceof CodecError) {
      throw new ApiError(code, `invalid ${field}: ${error.message}`);
    }
    throw error;
  }
}
