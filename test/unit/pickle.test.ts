/**
 * The MPCSFaaS wire format as faaslab writes and reads it (system/codec/pickle.ts), checked
 * against the OS's CPython and dill: what faaslab pickles, Python reads as meant, and what dill
 * pickles, faaslab reads (plain data) or at least frames, without running anything.
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { decodedResult, errorNameAndMessage, isPicklePayload, pickledArguments, pickleFramingProblem, PythonException, pythonTaskError, unpickledData } from "../../system/codec/pickle.js";
import { failureReason } from "../../system/metrics.js";

/** Runs a Python program with dill; it reads the payloads given on stdin as JSON and prints JSON. */
function python(program: string, input: unknown = null): unknown {
  const prelude = "import codecs, dill, json, sys\nserialize = lambda o: codecs.encode(dill.dumps(o), 'base64').decode()\ndeserialize = lambda s: dill.loads(codecs.decode(s.encode(), 'base64'))\ninput = json.load(sys.stdin)\n";
  return JSON.parse(execFileSync("/usr/bin/python3", ["-c", prelude + program], { input: JSON.stringify(input), encoding: "utf8" }));
}

describe("the MPCSFaaS pickle format", () => {
  it("arguments faaslab pickles are the tuple and dict Python expects", () => {
    const payload = pickledArguments([1, -1, 255, -129, 2n ** 70n, 2.5, "ü", null, true, [1, [2, []]], { a: { b: [] } }], { k: "v", n: -(2n ** 64n) });
    expect(isPicklePayload(payload)).toBe(true);
    expect(payload.split("\n").every((line) => line.length <= 76)).toBe(true);
    const seen = python("args, kwargs = deserialize(input)\nprint(json.dumps([type(args).__name__, type(kwargs).__name__, repr(args), repr(kwargs)]))", payload);
    expect(seen).toEqual(["tuple", "dict", "(1, -1, 255, -129, 1180591620717411303424, 2.5, 'ü', None, True, [1, [2, []]], {'a': {'b': []}})", "{'k': 'v', 'n': -18446744073709551616}"]);
  });

  it("reads dill's pickles of plain data and of exceptions, and refuses one that needs code", () => {
    const [data, error, fn] = python("print(json.dumps([serialize({'a': [1, 2.5, None, (1, 2), 2**70, -5, 'é' * 300], 'n': list(range(300))}), serialize(ValueError('bad x')), serialize(lambda x: x)]))") as string[];
    expect(unpickledData(data)).toEqual({ a: [1, 2.5, null, [1, 2], 2n ** 70n, -5, "é".repeat(300)], n: Array.from({ length: 300 }, (_, i) => i) });
    const raised = unpickledData(error);
    expect(raised).toBeInstanceOf(PythonException);
    expect(raised).toMatchObject({ name: "ValueError", message: "bad x" });
    // A function is data that names dill's loaders: read as such, never looked up or run.
    expect(unpickledData(fn)).toMatchObject({ pythonClass: "dill._dill._create_function" });
    expect(() => unpickledData(Buffer.from([0x80, 4, 0x63, 0x6f, 0x73, 0x0a, 0x73, 0x79, 0x73, 0x74, 0x65, 0x6d, 0x0a, 0x69, 0x2e]).toString("base64"))).toThrow(/not plain data/);
  });

  it("faaslab's errors for a Python task are built-in exceptions a client deserializes without faaslab", () => {
    const payloads = [pythonTaskError("DeadlineExceeded", "the task ran past its deadline of 50 ms"), pythonTaskError("WorkerLost", "lost — ü"), pythonTaskError("FunctionNotFound", "no module named 'tests'")];
    const seen = python("print(json.dumps([[type(e).__name__, str(e)] for e in map(deserialize, input)]))", payloads);
    expect(seen).toEqual([["TimeoutError", "DeadlineExceeded: the task ran past its deadline of 50 ms"], ["RuntimeError", "WorkerLost: lost — ü"], ["ImportError", "FunctionNotFound: no module named 'tests'"]]);
    expect(unpickledData(payloads[0])).toMatchObject({ name: "TimeoutError", message: "DeadlineExceeded: the task ran past its deadline of 50 ms" });
  });

  it("a Python task's error is named by faaslab's name when faaslab raised it, in the metrics and the cluster view alike", () => {
    expect(failureReason(pythonTaskError("DeadlineExceeded", "50 ms"))).toBe("DeadlineExceeded");
    expect(errorNameAndMessage(decodedResult(pythonTaskError("WorkerLost", "lost")))).toEqual({ name: "WorkerLost", message: "lost" });
    const raised = python("print(json.dumps(serialize(TimeoutError('DeadlineExceeded: my own, not faaslab'))))") as string;
    // A TimeoutError the function raised itself is still the function's, unless it names faaslab's error exactly as faaslab does.
    expect(errorNameAndMessage(decodedResult(raised))).toEqual({ name: "DeadlineExceeded", message: "my own, not faaslab" });
    const valueError = python("print(json.dumps(serialize(ValueError('nope'))))") as string;
    expect(failureReason(valueError)).toBe("function_error");
    expect(errorNameAndMessage(decodedResult(valueError))).toEqual({ name: "ValueError", message: "nope" });
  });

  it("tells a pickle's framing: base64, the PROTO header, the STOP opcode", () => {
    const double = python("def double(x):\n    return x * 2\nprint(json.dumps(serialize(double)))") as string;
    expect(pickleFramingProblem(double)).toBeNull();
    expect(pickleFramingProblem("payload")).toBe("it is not base64");
    expect(pickleFramingProblem("[1,2]")).toBe("it is not base64");
    expect(pickleFramingProblem(Buffer.from("hello world").toString("base64"))).toMatch(/do not start as a pickle/);
    expect(pickleFramingProblem(Buffer.from(double, "base64").subarray(0, 30).toString("base64"))).toMatch(/STOP/);
  });
});
