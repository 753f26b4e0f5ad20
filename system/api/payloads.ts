/** A request's codec payloads, decoded and checked, with their faults as the API's 400 and 413 errors. */
import { CodecError } from "../codec/index.js";
import { decodeArgumentsPayload, decodeFunctionPayload, InvalidArgumentsError, InvalidFunctionError } from "../codec/function.js";
import { ApiError, type ApiErrorCode } from "./errors.js";

/** The checked source of a serialized function (400 INVALID_FUNCTION otherwise). */
export function functionSource(payload: string): string {
  return decoded(() => decodeFunctionPayload(payload), "INVALID_FUNCTION", "payload");
}

/** Refuses (400 INVALID_ARGUMENTS) a payload that is not a serialized array of arguments. */
export function checkArguments(payload: string, field = "payload"): void {
  decoded(() => decodeArgumentsPayload(payload), "INVALID_ARGUMENTS", field);
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
