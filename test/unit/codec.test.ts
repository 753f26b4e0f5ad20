import { describe, expect, it } from "vitest";
import { CodecError, deserialize, FunctionSource, serialize } from "../../system/codec/index.js";
import { checkFunctionSource, decodeArgumentsPayload, decodeFunctionPayload, InvalidArgumentsError, InvalidFunctionError } from "../../system/codec/function.js";

const roundTrip = <T>(value: T): T => deserialize(serialize(value)) as T;

describe("codec round-trips", () => {
  it.each([
    ["null", null],
    ["true", true],
    ["false", false],
    ["an integer", 42],
    ["a float", 3.25],
    ["a string", "héllo \u2028 \"quoted\" \n"],
    ["an empty string", ""],
    ["an array", [1, "two", [3]]],
    ["an object", { a: 1, b: { c: [true, null] } }],
    ["an empty object", {}],
    ["MAX_SAFE_INTEGER", Number.MAX_SAFE_INTEGER],
  ])("%s", (_name, value) => {
    expect(roundTrip(value)).toEqual(value);
  });

  it("undefined, alone and inside arrays and objects", () => {
    expect(roundTrip(undefined)).toBeUndefined();
    expect(roundTrip([undefined, 1])).toEqual([undefined, 1]);
    const object = roundTrip({ a: undefined }) as Record<string, unknown>;
    expect(Object.hasOwn(object, "a")).toBe(true);
    expect(object.a).toBeUndefined();
  });

  it("NaN, ±Infinity and -0", () => {
    const [nan, inf, negInf, negZero, zero] = roundTrip([NaN, Infinity, -Infinity, -0, 0]);
    expect(nan).toBeNaN();
    expect(inf).toBe(Infinity);
    expect(negInf).toBe(-Infinity);
    expect(Object.is(negZero, -0)).toBe(true);
    expect(Object.is(zero, 0)).toBe(true);
  });

  it("BigInt, including beyond 64 bits and negative", () => {
    const values = [0n, 1n, -12345678901234567890n, 2n ** 200n];
    expect(roundTrip(values)).toEqual(values);
  });

  it("Date, including an invalid one", () => {
    const date = new Date("2024-02-29T12:34:56.789Z");
    const back = roundTrip(date);
    expect(back).toBeInstanceOf(Date);
    expect(back.getTime()).toBe(date.getTime());
    expect(Number.isNaN(roundTrip(new Date(NaN)).getTime())).toBe(true);
  });

  it("Map and Set with object keys", () => {
    const key = { id: 1 };
    const map = new Map<unknown, unknown>([[key, "object key"], ["k", new Set([1, "a", 2n])]]);
    const back = roundTrip(map);
    expect(back).toBeInstanceOf(Map);
    expect([...back.keys()][0]).toEqual(key);
    expect(back.get("k")).toEqual(new Set([1, "a", 2n]));
  });

  it("RegExp with flags", () => {
    const back = roundTrip(/a+b?\/c/giu);
    expect(back).toBeInstanceOf(RegExp);
    expect(back.source).toBe("a+b?\\/c");
    expect(back.flags).toBe("giu");
  });

  it.each([
    Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array,
  ])("%o", (Constructor) => {
    const array = new Constructor([1, 2, 3, 250]);
    const back = roundTrip(array);
    expect(back).toBeInstanceOf(Constructor);
    expect([...back]).toEqual([...array]);
  });

  it("BigInt64Array and BigUint64Array", () => {
    expect(roundTrip(new BigInt64Array([-1n, 2n ** 62n]))).toEqual(new BigInt64Array([-1n, 2n ** 62n]));
    expect(roundTrip(new BigUint64Array([2n ** 64n - 1n]))).toEqual(new BigUint64Array([2n ** 64n - 1n]));
  });

  it("a typed array that views part of a buffer", () => {
    const buffer = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7]).buffer;
    const view = new Uint8Array(buffer, 2, 3);
    expect([...roundTrip(view)]).toEqual([2, 3, 4]);
  });

  it("ArrayBuffer", () => {
    const buffer = new Uint8Array([9, 8, 7, 0, 255]).buffer;
    const back = roundTrip(buffer);
    expect(back).toBeInstanceOf(ArrayBuffer);
    expect([...new Uint8Array(back)]).toEqual([9, 8, 7, 0, 255]);
  });

  it("Error with name, message, stack and cause", () => {
    const cause = new RangeError("inner");
    const error = new TypeError("outer", { cause });
    const back = roundTrip(error);
    expect(back).toBeInstanceOf(TypeError);
    expect(back.name).toBe("TypeError");
    expect(back.message).toBe("outer");
    expect(back.stack).toBe(error.stack);
    expect(back.cause).toBeInstanceOf(RangeError);
    expect((back.cause as Error).message).toBe("inner");
  });

  it("an Error with a custom name", () => {
    const error = new Error("late");
    error.name = "DeadlineExceeded";
    const back = roundTrip(error);
    expect(back).toBeInstanceOf(Error);
    expect(back.name).toBe("DeadlineExceeded");
  });

  it("shared references stay shared", () => {
    const shared = { n: 1 };
    const back = roundTrip({ a: shared, b: [shared] });
    expect(back.a).toBe(back.b[0]);
  });

  it("cycles", () => {
    const node: { self?: unknown; list: unknown[] } = { list: [] };
    node.self = node;
    node.list.push(node);
    const back = roundTrip(node);
    expect(back.self).toBe(back);
    expect(back.list[0]).toBe(back);
  });

  it("a function as its source, never compiled", () => {
    const text = serialize(function add(a: number, b: number) {
      return a + b;
    });
    const back = deserialize(text);
    expect(back).toBeInstanceOf(FunctionSource);
    expect((back as FunctionSource).source).toContain("return a + b");
  });

  it("refuses values it cannot carry, with a CodecError", () => {
    expect(() => serialize(Symbol("s"))).toThrow(CodecError);
    expect(() => serialize(new (class Point { x = 1 })())).toThrow(/non-POJO/);
  });

  it("refuses text that is not codec output, without evaluating it", () => {
    (globalThis as Record<string, unknown>).__codecProbe = false;
    expect(() => deserialize("{not json")).toThrow(CodecError);
    expect(() => deserialize('[["Function", 1], "() => { globalThis.__codecProbe = true }"]')).not.toThrow();
    expect((globalThis as Record<string, unknown>).__codecProbe).toBe(false);
    expect(() => deserialize('[["NoSuchType", 1], 2]')).toThrow(CodecError);
  });
});

describe("function payloads", () => {
  it.each([
    ["a declaration", "function add(a, b) { return a + b }"],
    ["an anonymous function expression", "function (x) { return x }"],
    ["an arrow", "(x) => x * 2"],
    ["an async function", "async function f() { await null; return 1 }"],
    ["an async arrow", "async () => 1"],
    ["a generator", "function* g() { yield 1 }"],
    ["a trailing line comment", "x => x // done"],
  ])("accepts %s", (_name, source) => {
    expect(checkFunctionSource(source)).toBe(source.trim());
    expect(decodeFunctionPayload(serialize(new FunctionSource(source)))).toBe(source.trim());
  });

  it.each([
    ["an expression", "1 + 2", /not a function/],
    ["a class", "class A {}", /not a function/],
    ["two functions", "function a() {}), (function b() {}", /not a function/],
    ["a call injected after a function", "function a() {})(", /not a function|does not compile/],
    ["native code", "function max() { [native code] }", /does not compile/],
    ["a syntax error", "function (", /does not compile/],
    ["an empty source", "  ", /empty/],
    ["import()", "async () => import('node:fs')", /import\(\) is not available/],
  ])("refuses %s", (_name, source, message) => {
    expect(() => checkFunctionSource(source)).toThrow(InvalidFunctionError);
    expect(() => checkFunctionSource(source)).toThrow(message);
  });

  it("refuses a payload that is a serialized non-function", () => {
    expect(() => decodeFunctionPayload(serialize([1, 2]))).toThrow(/serialized array, not a serialized function/);
    expect(() => decodeFunctionPayload("not codec text")).toThrow(CodecError);
  });

  it("argument payloads must be arrays", () => {
    expect(decodeArgumentsPayload(serialize([1, new Map()]))).toEqual([1, new Map()]);
    expect(() => decodeArgumentsPayload(serialize({ a: 1 }))).toThrow(/not a serialized array of arguments/);
    expect(() => decodeArgumentsPayload(serialize(5))).toThrow(/serialized number/);
    // Its own error, not the function payload's (the API answers INVALID_ARGUMENTS for it).
    expect(() => decodeArgumentsPayload(serialize("x"))).toThrow(InvalidArgumentsError);
    expect(() => decodeArgumentsPayload(serialize("x"))).not.toThrow(InvalidFunctionError);
  });

  it.each([
    ["an argument", [1, (x: number) => x], "arguments[1]"],
    ["a property", [{ a: 1, handler: () => 1 }], "arguments[0].handler"],
    ["a property whose name is not an identifier", [{ "on click": () => 1 }], 'arguments[0]["on click"]'],
    ["an array element", [[0, [1, () => 1]]], "arguments[0][1][1]"],
    ["a Map key", [new Map([[() => 1, 1]])], "arguments[0] key"],
    ["a Map value", [new Map([["k", () => 1]])], "arguments[0] value"],
    ["a Set member", [new Set([1, () => 1])], "arguments[0] member"],
    ["an error's cause", [new Error("e", { cause: () => 1 })], "arguments[0].cause"],
    ["a null-prototype object", [Object.assign(Object.create(null), { f: () => 1 })], "arguments[0].f"],
  ])("refuses a function as %s, naming where it is (issue 14, defect 7)", (_name, args, path) => {
    const payload = serialize(args);
    expect(() => decodeArgumentsPayload(payload)).toThrow(InvalidArgumentsError);
    expect(() => decodeArgumentsPayload(payload)).toThrow(`${path} is a function, which cannot be an argument: arguments are data (register a function to run it)`);
  });

  it("finds a function whose tag is spelled with a JSON escape, and accepts data that only mentions one", () => {
    expect(() => decodeArgumentsPayload(String.raw`[[1],["\u0046unction",2],"() => 1"]`)).toThrow(/^arguments\[0\] is a function/);
    expect(() => decodeArgumentsPayload(`[[1],["FunctionSource",2],"() => 1"]`)).toThrow(/^arguments\[0\] is a function/);
    expect(decodeArgumentsPayload(serialize(["Function", { Function: "\u0000" }]))).toEqual(["Function", { Function: "\u0000" }]);
  });

  it("looks through shared and cyclic references and deep nesting once, without recursion", () => {
    const shared = { x: 1 };
    const cyclic: Record<string, unknown> = { shared };
    cyclic.self = cyclic;
    expect(decodeArgumentsPayload(serialize([cyclic, shared, [shared]]))).toHaveLength(3);
    // [[[…[f]…]]], 2,000 deep (about as deep as devalue's parse, which recurses, reads), written by hand.
    const depth = 2_000;
    const elements = Array.from({ length: depth }, (_, index) => `[${index + 1}]`);
    const deep = `[${elements.join(",")},["Function",${depth + 1}],"() => 1"]`;
    expect(() => decodeArgumentsPayload(deep)).toThrow(/^arguments(\[0\]){2000} is a function/);
  });
});
