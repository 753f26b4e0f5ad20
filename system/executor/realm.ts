/**
 * Moving values across the sandbox wall. A function's arguments must be built from the
 * sandbox's own intrinsics, and its results copied out into plain host values, because any
 * host object that reaches user code leads back to the host's `Function` (and so to
 * `process`) through its `constructor`. Both directions copy data only: a getter, a Proxy, a
 * function, a symbol or a class instance is refused with a `SerializationError`, so no user
 * code runs while a result is read.
 */
import { types } from "node:util";
import { FunctionSource } from "../codec/index.js";

export class SerializationError extends Error {
  override name = "SerializationError";
}

/** The constructors of one sandbox realm, captured before any user code ran in it. */
export interface Intrinsics {
  Object: ObjectConstructor;
  Array: ArrayConstructor;
  Map: MapConstructor;
  Set: SetConstructor;
  Date: DateConstructor;
  RegExp: RegExpConstructor;
  Error: ErrorConstructor;
  ArrayBuffer: ArrayBufferConstructor;
  [typedArray: string]: unknown;
}

const { defineProperty, getOwnPropertyDescriptor, getPrototypeOf } = Object;
const ownKeys = Reflect.ownKeys;
const mapEntries = Map.prototype.entries;
const setValues = Set.prototype.values;
const mapSet = Map.prototype.set;
const setAdd = Set.prototype.add;
const dateTime = Date.prototype.getTime;
const regExpSource = getOwnPropertyDescriptor(RegExp.prototype, "source")!.get!;
// Not the `flags` getter: it reads `this.global` and the others, which the sandbox's RegExp.prototype
// answers. Each flag's own getter reads the RegExp's internal slot.
const regExpFlagGetters = ([["d", "hasIndices"], ["g", "global"], ["i", "ignoreCase"], ["m", "multiline"], ["s", "dotAll"], ["u", "unicode"], ["v", "unicodeSets"], ["y", "sticky"]] as const)
  .flatMap(([letter, name]) => {
    const getter = getOwnPropertyDescriptor(RegExp.prototype, name)?.get;
    return getter ? [[letter, getter] as const] : [];
  });
const regExpFlags = (regExp: object): string => regExpFlagGetters.map(([letter, getter]) => (getter.call(regExp) ? letter : "")).join("");
const TypedArray = getPrototypeOf(Uint8Array) as { prototype: object };
const typedArrayGetter = (name: string) => getOwnPropertyDescriptor(TypedArray.prototype, name)!.get!;
const viewBuffer = typedArrayGetter("buffer");
const viewByteOffset = typedArrayGetter("byteOffset");
const viewLength = typedArrayGetter("length");
const viewTag = getOwnPropertyDescriptor(TypedArray.prototype, Symbol.toStringTag)!.get!;
const typedArraySet = Uint8Array.prototype.set;
const hostTypedArrays = globalThis as unknown as Record<string, new (buffer: ArrayBuffer, offset?: number, length?: number) => ArrayBufferView>;

function defineData(target: object, key: PropertyKey, value: unknown): void {
  defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

/** Copies a host value (as `deserialize` made it) into the sandbox realm. */
export function copyIntoSandbox(value: unknown, realm: Intrinsics, seen = new Map<object, unknown>()): unknown {
  if (typeof value !== "object" || value === null) {
    if (typeof value === "function" || typeof value === "symbol") throw new SerializationError(`a ${typeof value} cannot be an argument`);
    return value;
  }
  const known = seen.get(value);
  if (known !== undefined) return known;
  if (value instanceof FunctionSource) throw new SerializationError("a function cannot be an argument");
  let copy: object;
  if (Array.isArray(value)) {
    copy = new realm.Array(value.length);
    seen.set(value, copy);
    for (let i = 0; i < value.length; i++) if (i in value) defineData(copy, i, copyIntoSandbox(value[i], realm, seen));
  } else if (value instanceof Map) {
    copy = new realm.Map();
    seen.set(value, copy);
    for (const [k, v] of value) mapSet.call(copy, copyIntoSandbox(k, realm, seen), copyIntoSandbox(v, realm, seen));
  } else if (value instanceof Set) {
    copy = new realm.Set();
    seen.set(value, copy);
    for (const v of value) setAdd.call(copy, copyIntoSandbox(v, realm, seen));
  } else if (value instanceof Date) {
    copy = new realm.Date(value.getTime());
  } else if (value instanceof RegExp) {
    copy = new realm.RegExp(value.source, value.flags);
  } else if (value instanceof Error) {
    const error = new realm.Error(value.message);
    seen.set(value, error);
    defineProperty(error, "name", { value: value.name, writable: true, configurable: true });
    defineProperty(error, "stack", { value: value.stack, writable: true, configurable: true });
    if ("cause" in value) defineProperty(error, "cause", { value: copyIntoSandbox(value.cause, realm, seen), writable: true, configurable: true });
    copy = error;
  } else if (value instanceof ArrayBuffer) {
    copy = new realm.ArrayBuffer(value.byteLength);
    new Uint8Array(copy as ArrayBuffer).set(new Uint8Array(value));
  } else if (ArrayBuffer.isView(value)) {
    const buffer = copyIntoSandbox(value.buffer, realm, seen) as ArrayBuffer;
    const Constructor = realm[value.constructor.name] as new (b: ArrayBuffer, o: number, l: number) => object;
    const length = value instanceof DataView ? value.byteLength : (value as Uint8Array).length;
    copy = new Constructor(buffer, value.byteOffset, length);
  } else {
    copy = new realm.Object();
    seen.set(value, copy);
    for (const key of Object.keys(value)) defineData(copy, key, copyIntoSandbox((value as Record<string, unknown>)[key], realm, seen));
  }
  seen.set(value, copy);
  return copy;
}

/**
 * Copies a value made by user code out of the sandbox into plain host values, reading only
 * own data properties through host intrinsics (which user code cannot have replaced).
 */
export function copyOutOfSandbox(value: unknown, seen = new Map<object, unknown>(), path = "result"): unknown {
  if (typeof value !== "object" || value === null) {
    if (typeof value === "function") throw new SerializationError(`${path} is a function, which cannot be serialized`);
    if (typeof value === "symbol") throw new SerializationError(`${path} is a symbol, which cannot be serialized`);
    return value;
  }
  if (types.isProxy(value)) throw new SerializationError(`${path} is a Proxy, which cannot be serialized`);
  const known = seen.get(value);
  if (known !== undefined) return known;
  if (Array.isArray(value)) {
    const length = (getOwnPropertyDescriptor(value, "length")!.value as number);
    const copy: unknown[] = new Array(length);
    seen.set(value, copy);
    for (let i = 0; i < length; i++) {
      const descriptor = getOwnPropertyDescriptor(value, i);
      if (descriptor) copy[i] = readData(descriptor, seen, `${path}[${i}]`);
    }
    return copy;
  }
  if (types.isMap(value)) {
    const copy = new Map();
    seen.set(value, copy);
    for (const [k, v] of { [Symbol.iterator]: () => mapEntries.call(value) }) {
      copy.set(copyOutOfSandbox(k, seen, `${path} key`), copyOutOfSandbox(v, seen, `${path} value`));
    }
    return copy;
  }
  if (types.isSet(value)) {
    const copy = new Set();
    seen.set(value, copy);
    for (const v of { [Symbol.iterator]: () => setValues.call(value) }) copy.add(copyOutOfSandbox(v, seen, `${path} member`));
    return copy;
  }
  if (types.isDate(value)) return remember(seen, value, new Date(dateTime.call(value)));
  if (types.isRegExp(value)) return remember(seen, value, new RegExp(regExpSource.call(value), regExpFlags(value)));
  if (types.isNativeError(value)) return copyErrorOut(value, seen, path);
  if (types.isArrayBuffer(value)) return remember(seen, value, copyBytes(value as ArrayBuffer, path));
  if (types.isTypedArray(value)) {
    const name = viewTag.call(value) as string;
    const buffer = copyOutOfSandbox(viewBuffer.call(value), seen, path) as ArrayBuffer;
    return remember(seen, value, new hostTypedArrays[name](buffer, viewByteOffset.call(value), viewLength.call(value)));
  }
  const prototype = getPrototypeOf(value);
  const tag = ownTag(value);
  if (tag === UNREADABLE_TAG) throw new SerializationError(`${path} has a Symbol.toStringTag getter or a Proxy as a prototype, which cannot be serialized`);
  const isPlain = prototype === null || (tag === "Object" && getPrototypeOf(prototype) === null && !hasOwnConstructorOtherThanObject(prototype));
  if (!isPlain) throw new SerializationError(`${path} is ${describeInstance(prototype, tag)}, which cannot be serialized; return plain data`);
  const copy: Record<string, unknown> = prototype === null ? Object.create(null) : {};
  seen.set(value, copy);
  for (const key of ownKeys(value)) {
    if (typeof key === "symbol") continue;
    const descriptor = getOwnPropertyDescriptor(value, key)!;
    if (!descriptor.enumerable) continue;
    defineData(copy, key, readData(descriptor, seen, `${path}.${key}`));
  }
  return copy;
}

const UNREADABLE_TAG = Symbol("a Symbol.toStringTag that only user code could tell");

/**
 * What `Object.prototype.toString` would name the object, found without running user code:
 * the builtin's answer would call a `Symbol.toStringTag` getter. A tag that is not a plain
 * string (a getter, say), or a Proxy in the prototype chain (whose traps are user code), gives
 * UNREADABLE_TAG.
 */
function ownTag(value: object): string | typeof UNREADABLE_TAG {
  for (let o: object | null = value; o !== null; o = getPrototypeOf(o)) {
    if (types.isProxy(o)) return UNREADABLE_TAG;
    const descriptor = getOwnPropertyDescriptor(o, Symbol.toStringTag);
    if (descriptor) return "value" in descriptor && typeof descriptor.value === "string" ? descriptor.value : UNREADABLE_TAG;
  }
  return types.isArgumentsObject(value) ? "Arguments" : "Object";
}

/**
 * A host copy of a sandbox ArrayBuffer's bytes. Not ArrayBuffer.prototype.slice, which makes
 * its result with the buffer's `constructor[Symbol.species]`: user code. A host view reads
 * the bytes directly; making one fails only on a detached buffer (a WebAssembly.Memory that
 * grew detaches its old one), which has no bytes to copy.
 */
function copyBytes(buffer: ArrayBuffer, path: string): ArrayBuffer {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(buffer);
  } catch {
    throw new SerializationError(`${path} is a detached ArrayBuffer, which cannot be serialized`);
  }
  const copy = new ArrayBuffer(bytes.length);
  typedArraySet.call(new Uint8Array(copy), bytes);
  return copy;
}

function readData(descriptor: PropertyDescriptor, seen: Map<object, unknown>, path: string): unknown {
  if (!("value" in descriptor)) throw new SerializationError(`${path} is a getter, which cannot be serialized`);
  return copyOutOfSandbox(descriptor.value, seen, path);
}

function remember<T>(seen: Map<object, unknown>, original: object, copy: T): T {
  seen.set(original, copy);
  return copy;
}

function copyErrorOut(value: object, seen: Map<object, unknown>, path: string): Error {
  const field = (key: string): unknown => {
    for (let o: object | null = value; o !== null && !types.isProxy(o); o = getPrototypeOf(o)) {
      const descriptor = getOwnPropertyDescriptor(o, key);
      if (descriptor) return "value" in descriptor ? descriptor.value : undefined;
    }
    return undefined;
  };
  const error = new Error(primitiveText(field("message"), ""));
  seen.set(value, error);
  defineProperty(error, "name", { value: primitiveText(field("name"), "Error"), writable: true, configurable: true });
  const stack = field("stack");
  // Without a stack of its own (the sandbox captures none), the copy must not show the host's.
  if (typeof stack === "string") defineProperty(error, "stack", { value: stack, writable: true, configurable: true });
  else delete (error as { stack?: string }).stack;
  const causeDescriptor = getOwnPropertyDescriptor(value, "cause");
  if (causeDescriptor && "value" in causeDescriptor) {
    defineProperty(error, "cause", { value: copyOutOfSandbox(causeDescriptor.value, seen, `${path}.cause`), writable: true, configurable: true });
  }
  return error;
}

/** A primitive as text; an object (whose `toString` would be user code) or undefined gives `fallback`. */
function primitiveText(value: unknown, fallback: string): string {
  if (value === undefined || value === null || typeof value === "object" || typeof value === "function") return fallback;
  return String(value);
}

/** A sandbox's `Object.prototype` is the one prototype whose own `constructor` is named Object. */
function hasOwnConstructorOtherThanObject(prototype: object): boolean {
  const descriptor = getOwnPropertyDescriptor(prototype, "constructor");
  const constructor = descriptor && "value" in descriptor ? descriptor.value : undefined;
  if (typeof constructor !== "function") return true;
  const name = getOwnPropertyDescriptor(constructor, "name");
  return !(name && name.value === "Object");
}

function describeInstance(prototype: object, tag: string): string {
  const descriptor = getOwnPropertyDescriptor(prototype, "constructor");
  const constructor = descriptor && "value" in descriptor ? descriptor.value : undefined;
  const nameDescriptor = typeof constructor === "function" ? getOwnPropertyDescriptor(constructor, "name") : undefined;
  const name = nameDescriptor && "value" in nameDescriptor ? primitiveText(nameDescriptor.value, tag) : tag;
  return tag === "Promise" || name === "Promise" ? "a Promise (await it inside the function)" : `an instance of ${name || "an anonymous class"}`;
}
