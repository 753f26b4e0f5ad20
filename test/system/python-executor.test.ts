/**
 * The Python executor on real processes: a PythonPool (bubblewrap, the zygote, a fork per
 * task) fed payloads that /usr/bin/python3 with dill makes, as an MPCSFaaS client does, and
 * whose results it reads back. What a function returns or raises comes back as itself; what
 * faaslab raises comes back as the built-in exception of PYTHON_EXCEPTION_FOR, its message
 * starting with faaslab's name. Then ExecutorPool's routing of the `python` runtime, and what
 * the pool does when its jail dies or stops answering. Hostile functions: python-hostile.test.ts.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deserialize, serialize } from "../../system/codec/index.js";
import { ExecutorPool } from "../../system/executor/pool.js";
import { PythonPool } from "../../system/executor/python-pool.js";
import { waitFor } from "../../harness/wait.js";
import { NO_ARGS, completed, descendantsOf, failed, isGone, leftovers, spareOf, pickleArgs, pickleFunction, pickleFunctionByReference, pickleValue, pythonPrerequisites, unpickle } from "../support/python.js";

const prerequisites = pythonPrerequisites();

/** `def double(x): return 2 * x`, pickled by dill 0.3.6 on Python 3.10 (pyenv 3.10.13): a function pickled by value on another minor version. */
const DOUBLE_FROM_PYTHON_3_10 =
  "gASVuQAAAAAAAACMCmRpbGwuX2RpbGyUjBBfY3JlYXRlX2Z1bmN0aW9ulJOUKGgAjAxfY3JlYXRlX2NvZGWUk5QoQwCUSwFLAEsASwFLAktDQwhkAXwAFABTAJROSwKGlCmMAXiUhZSMCDxzdHJpbmc+lIwGZG91YmxllEsDQwIIAJQpKXSUUpRjX19idWlsdGluX18KX19tYWluX18KaAtOTnSUUpR9lH2UjA9fX2Fubm90YXRpb25zX1+UfZRzhpRiLg==";

const python = (source: string, args = NO_ARGS) => ({ functionId: "f", runtime: "python" as const, source, args });

describe.skipIf(!prerequisites.ok)(`the Python executor${prerequisites.ok ? "" : ` (skipped: ${prerequisites.why})`}`, () => {
  let pool: PythonPool;
  /** A directory of modules, as an MPCSFaaS client's tests/test_webservice.py: readable by the jail's user. */
  let modules: string;

  beforeAll(async () => {
    expect(await PythonPool.available()).toEqual({ ok: true });
    modules = mkdtempSync(join(tmpdir(), "faaslab-python-path-"));
    mkdirSync(join(modules, "tests"));
    writeFileSync(join(modules, "tests", "__init__.py"), "");
    writeFileSync(join(modules, "tests", "test_webservice.py"), "def double(x):\n    return 2 * x\n");
    for (const path of [modules, join(modules, "tests")]) chmodSync(path, 0o755);
    pool = new PythonPool({ executors: 2, memoryMb: 256, name: "py", pythonPath: [] });
  });
  afterAll(async () => {
    await pool?.close();
    if (modules) rmSync(modules, { recursive: true, force: true });
  });

  describe("functions and their arguments", () => {
    it("a function pickled by value: double(21) is 42, answered by one of the pool's executors", async () => {
      const outcome = await pool.run(python(pickleFunction("def double(x):\n    return 2 * x\n", "double"), pickleArgs("21,")), 10_000);
      expect(completed(outcome)).toBe(42);
      expect(outcome.executor).toMatch(/^py\/python-[12]$/);
    });

    it("a function pickled by reference to tests.test_webservice runs with its directory as pythonPath, and fails with FunctionNotFound without it", async () => {
      const payload = pickleFunctionByReference([modules], "tests.test_webservice", "double");
      // By reference: the pickle names the module and the function, and holds no code.
      expect(Buffer.from(payload, "base64").toString("latin1")).toContain("tests.test_webservice");
      const withPath = new PythonPool({ executors: 1, memoryMb: 128, name: "with-path", pythonPath: [modules] });
      try {
        expect(completed(await withPath.run(python(payload, pickleArgs("8,")), 10_000))).toBe(16);
      } finally {
        await withPath.close();
      }
      const error = failed(await pool.run(python(payload, pickleArgs("8,")), 10_000));
      expect(error.type).toBe("ImportError");
      expect(error.message).toMatch(/^FunctionNotFound: .*module 'tests'.*--python-path/);
    });

    it("Python source text defining one function", async () => {
      expect(completed(await pool.run(python("import math\n\ndef hypotenuse(a, b):\n    return math.sqrt(a * a + b * b)\n", pickleArgs("3, 4")), 10_000))).toBe(5);
    });

    it("source text that defines no function, two, or does not compile fails with InvalidFunctionError", async () => {
      for (const [source, message] of [
        ["x = 1\n", /exactly one function, and it defines 0/],
        ["def a():\n    return 1\n\ndef b():\n    return 2\n", /exactly one function, and it defines 2/],
        ["def broken(:\n", /does not compile: SyntaxError/],
        ["raise KeyError('at import')\n\ndef f():\n    return 1\n", /raised KeyError/],
      ] as const) {
        const error = failed(await pool.run(python(source), 10_000));
        expect(error.type, source).toBe("ValueError");
        expect(error.message, source).toMatch(/^InvalidFunctionError: /);
        expect(error.message, source).toMatch(message);
      }
    });

    it("positional and keyword arguments", async () => {
      const source = "def describe(a, b=10, *rest, c, **more):\n    return [a, b, list(rest), c, sorted(more.items())]\n";
      expect(completed(await pool.run(python(source, pickleArgs("1,", "{'c': 3}")), 10_000))).toEqual([1, 10, [], 3, []]);
      expect(completed(await pool.run(python(source, pickleArgs("1, 2, 5, 6", "{'c': 3, 'z': 26}")), 10_000))).toEqual([1, 2, [5, 6], 3, [["z", 26]]]);
      const error = failed(await pool.run(python(source, pickleArgs("1,")), 10_000));
      expect(error.type).toBe("TypeError");
      expect(error.message).toMatch(/missing 1 required keyword-only argument: 'c'/);
    });

    it("recursion: factorial pickled by value (with and without recurse=True) and fibonacci from source", async () => {
      const factorial = "def factorial(n):\n    return 1 if n <= 1 else n * factorial(n - 1)\n";
      for (const recurse of [false, true]) {
        expect(completed(await pool.run(python(pickleFunction(factorial, "factorial", { recurse }), pickleArgs("20,")), 10_000))).toBe(2432902008176640000);
      }
      const fibonacci = "def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)\n";
      expect(completed(await pool.run(python(fibonacci, pickleArgs("20,")), 10_000))).toBe(6765);
    });

    it("a large argument: list(range(10000))", async () => {
      const outcome = await pool.run(python("def total(values):\n    return [len(values), sum(values)]\n", pickleArgs("list(range(10000)),")), 10_000);
      expect(completed(outcome)).toEqual([10000, 49995000]);
    });

    it("a result that is not JSON, returned as the pickle of that value", async () => {
      const outcome = await pool.run(python("def f():\n    return {1: {2, 3}, 'b': b'\\x00', 'c': 1.5j}\n"), 10_000);
      expect(outcome.status).toBe("COMPLETED");
      expect(unpickle(outcome.result)).toMatchObject({ type: "dict", repr: "{1: {2, 3}, 'b': b'\\x00', 'c': 1.5j}" });
    });

    it("arguments that are not a pickled pair ((args...), {kwargs}), or not base64 of a pickle, fail with SerializationError", async () => {
      for (const args of [pickleValue("[1, 2]"), pickleValue("((1,), [])"), "not base64!", pickleValue("(1, 2, 3)")]) {
        const error = failed(await pool.run(python("def f(*a, **k):\n    return 1\n", args), 10_000));
        expect(error.type, args).toBe("TypeError");
        expect(error.message, args).toMatch(/^SerializationError: the arguments/);
      }
    });

    it("a function pickled by value on another Python minor version fails with a clear task error", async () => {
      const error = failed(await pool.run(python(DOUBLE_FROM_PYTHON_3_10, pickleArgs("2,")), 10_000));
      expect(error.type).toBe("ValueError");
      expect(error.message).toMatch(/^InvalidFunctionError: the function cannot be unpickled by this executor: its code was pickled by Python 3\.8 to 3\.10, and this executor runs Python 3\.\d+; a function pickled by value must come from the same Python minor version$/);
    });

    it("a pickle that holds something other than a function fails with InvalidFunctionError", async () => {
      const error = failed(await pool.run(python(pickleValue("[1, 2, 3]")), 10_000));
      expect(error.type).toBe("ValueError");
      expect(error.message).toMatch(/^InvalidFunctionError: the pickle holds list, not a function/);
    });
  });

  describe("what a function raises or returns that does not pickle", () => {
    it("a raised ValueError comes back as that ValueError, with the executor that ran it", async () => {
      const outcome = await pool.run(python("def f(x):\n    raise ValueError('bad value %r' % (x,))\n", pickleArgs("'q',")), 10_000);
      expect(failed(outcome)).toMatchObject({ type: "ValueError", message: "bad value 'q'", module: "builtins" });
      expect(outcome.executor).toMatch(/^py\/python-[12]$/);
    });

    it("an exception class of the function's own comes back as that class (pickled by value)", async () => {
      const source = "class Refused(Exception):\n    pass\n\ndef f():\n    raise Refused('no')\n";
      const outcome = await pool.run(python(pickleFunction(source, "f", { recurse: true })), 10_000);
      expect(failed(outcome)).toMatchObject({ type: "Refused", message: "no" });
    });

    it("an exception that does not pickle, or does not unpickle, becomes a SerializationError (TypeError) with its repr", async () => {
      const unpicklable = "def f():\n    error = RuntimeError('holding a generator')\n    error.items = (x for x in [1])\n    raise error\n";
      const first = failed(await pool.run(python(unpicklable), 10_000));
      expect(first.type).toBe("TypeError");
      expect(first.message).toMatch(/^SerializationError: the function raised RuntimeError\('holding a generator'\), which cannot be pickled/);
      // Pickles (as Strict('a')), but Strict('a') raises when unpickled: the client could not read it.
      const unreadable = "class Strict(Exception):\n    def __init__(self, a, b):\n        super().__init__(a)\n\ndef f():\n    raise Strict('a', 'b')\n";
      const second = failed(await pool.run(python(unreadable), 10_000));
      expect(second.type).toBe("TypeError");
      expect(second.message).toMatch(/^SerializationError: the function raised Strict\('a'\)/);
    });

    it("SystemExit comes back as itself; a function that ends its process fails with ExecutorCrashed (RuntimeError)", async () => {
      expect(failed(await pool.run(python("import sys\n\ndef f():\n    sys.exit(3)\n"), 10_000))).toMatchObject({ type: "SystemExit", message: "3" });
      const outcome = await pool.run(python("import os\n\ndef f():\n    os._exit(3)\n"), 10_000);
      expect(failed(outcome)).toMatchObject({ type: "RuntimeError", message: "ExecutorCrashed: the executor exited with code 3 before it answered" });
      expect(outcome.executor).toBe("py");
    });

    it("a return value that cannot be pickled fails with SerializationError (TypeError)", async () => {
      const error = failed(await pool.run(python("def f():\n    return (x for x in [1])\n"), 10_000));
      expect(error.type).toBe("TypeError");
      expect(error.message).toMatch(/^SerializationError: the return value cannot be pickled: TypeError: cannot pickle 'generator' object/);
    });

    it("a result over maxResultBytes fails with ResultTooLarge (ValueError)", async () => {
      const small = new PythonPool({ executors: 1, memoryMb: 128, name: "small", pythonPath: [], maxResultBytes: 1000 });
      try {
        expect(completed(await small.run(python("def f():\n    return 'x' * 100\n"), 10_000))).toBe("x".repeat(100));
        const error = failed(await small.run(python("def f():\n    return 'x' * 5000\n"), 10_000));
        expect(error.type).toBe("ValueError");
        expect(error.message).toMatch(/^ResultTooLarge: the pickled return value is \d+ bytes, over the limit of 1000 bytes/);
      } finally {
        await small.close();
      }
    });
  });

  describe("deadlines and state", () => {
    it("a function that sleeps past its deadline fails with DeadlineExceeded (TimeoutError), and the pool serves the next task", async () => {
      const started = performance.now();
      const outcome = await pool.run(python("import time\n\ndef f():\n    time.sleep(30)\n"), 700);
      const elapsed = performance.now() - started;
      expect(failed(outcome)).toMatchObject({ type: "TimeoutError", message: "DeadlineExceeded: the task ran past its deadline of 700 ms and was stopped" });
      expect(outcome.executor).toBe("py");
      expect(elapsed).toBeGreaterThanOrEqual(690);
      expect(elapsed).toBeLessThan(5_000);
      expect(completed(await pool.run(python("def f():\n    return 'next'\n"), 10_000))).toBe("next");
    });

    it("no state carries between tasks: a function that rebinds builtins.len, a module's global and sys.modules leaves the next one the originals", async () => {
      const vandal = [
        "import builtins, json, sys",
        "def vandal():",
        "    builtins.len = lambda x: -1",
        "    json.dumps = None",
        "    sys.modules['math'] = 'gone'",
        "    global counter",
        "    counter = globals().get('counter', 0) + 1",
        "    return [len([1, 2, 3]), counter]",
      ].join("\n");
      const witness = [
        "import builtins, json, sys",
        "def witness():",
        "    import math",
        "    return [len([1, 2, 3]), json.dumps([1]), math.floor(2.5), 'counter' in globals()]",
      ].join("\n");
      for (let round = 0; round < 3; round++) {
        expect(completed(await pool.run(python(vandal), 10_000))).toEqual([-1, 1]);
        expect(completed(await pool.run(python(witness), 10_000))).toEqual([3, "[1]", 2, false]);
      }
    });

    it("at most `executors` tasks run at once; the others wait, and their deadline counts the wait", async () => {
      const source = "import time\n\ndef f():\n    start = time.monotonic()\n    time.sleep(0.3)\n    return [start, time.monotonic()]\n";
      const outcomes = await Promise.all(Array.from({ length: 5 }, () => pool.run(python(source), 10_000)));
      const spans = outcomes.map((outcome) => completed(outcome) as [number, number]);
      for (const [start] of spans) {
        const running = spans.filter(([s, e]) => s <= start && start < e).length;
        expect(running).toBeLessThanOrEqual(2);
      }
      expect(new Set(outcomes.map((o) => o.executor))).toEqual(new Set(["py/python-1", "py/python-2"]));
      // Two executors busy for 1.5 s: a third task with a 500 ms deadline never starts.
      const busy = [pool.run(python("import time\n\ndef f():\n    time.sleep(1.5)\n"), 10_000), pool.run(python("import time\n\ndef f():\n    time.sleep(1.5)\n"), 10_000)];
      const waiting = await pool.run(python("def f():\n    return 1\n"), 500);
      expect(failed(waiting)).toMatchObject({ type: "TimeoutError", message: "DeadlineExceeded: the task ran past its deadline of 500 ms and was stopped" });
      for (const outcome of await Promise.all(busy)) expect(outcome.status).toBe("COMPLETED");
    });
  });

  describe("the jail's life", () => {
    it("a jail killed from outside fails the tasks it ran with ExecutorCrashed (RuntimeError); the next task gets a new jail", async () => {
      const own = new PythonPool({ executors: 1, memoryMb: 128, name: "killed", pythonPath: [] });
      try {
        expect(completed(await own.run(python("def f():\n    return 1\n"), 10_000))).toBe(1);
        const bwrap = own.jailPid!;
        const running = own.run(python("import time\n\ndef f():\n    time.sleep(30)\n"), 20_000);
        await waitFor(() => leftovers(bwrap).length > 0, { what: "the task's child to run in the jail" });
        process.kill(-bwrap, "SIGKILL");
        const outcome = await running;
        expect(failed(outcome)).toMatchObject({ type: "RuntimeError" });
        expect(failed(outcome).message).toMatch(/^ExecutorCrashed: the Python executor's jail died \(signal SIGKILL\)/);
        expect(outcome.executor).toBe("killed");
        expect(completed(await own.run(python("def f():\n    return 'again'\n"), 10_000))).toBe("again");
        expect(own.jailPid).not.toBe(bwrap);
      } finally {
        await own.close();
      }
    });

    it("a jail that stops answering is killed past the task's deadline and a grace period, its task fails with ExecutorCrashed, and the pool goes on", async () => {
      const own = new PythonPool({ executors: 1, memoryMb: 128, name: "wedged", pythonPath: [] });
      try {
        expect(completed(await own.run(python("def f():\n    return 1\n"), 10_000))).toBe(1);
        const bwrap = own.jailPid!;
        const main = descendantsOf(bwrap).find((p) => p.ppid === bwrap);
        expect(main).toBeDefined();
        process.kill(main!.pid, "SIGSTOP"); // from outside its PID namespace, a stop reaches PID 1
        const started = performance.now();
        const outcome = await own.run(python("def f():\n    return 2\n"), 500);
        const elapsed = performance.now() - started;
        expect(failed(outcome).message).toMatch(/^ExecutorCrashed: the Python executor did not answer within 5000 ms of the task's deadline/);
        expect(elapsed).toBeGreaterThanOrEqual(5_400);
        expect(completed(await own.run(python("def f():\n    return 3\n"), 10_000))).toBe(3);
      } finally {
        await own.close();
      }
    }, 30_000);

    it("close() ends the jail and every process in it, and later tasks fail with ExecutorCrashed", async () => {
      const own = new PythonPool({ executors: 1, memoryMb: 128, name: "closed", pythonPath: [] });
      expect(completed(await own.run(python("def f():\n    return 1\n"), 10_000))).toBe(1);
      const bwrap = own.jailPid!;
      // main, the forker, and the spare child forked ahead of the next task
      await waitFor(() => spareOf(bwrap), { what: "the jail's spare child to wait for a task" });
      expect(descendantsOf(bwrap).length).toBe(3);
      const running = own.run(python("import time\n\ndef f():\n    time.sleep(30)\n"), 20_000);
      await waitFor(() => leftovers(bwrap).length > 0, { what: "the task's child to run in the jail" });
      const all = descendantsOf(bwrap).map((p) => p.pid);
      await own.close();
      expect(failed(await running).message).toMatch(/^ExecutorCrashed: the executor pool was closed while the task ran/);
      for (const pid of [bwrap, ...all]) expect(isGone(pid), `process ${pid} outlived close()`).toBe(true);
      expect(failed(await own.run(python("def f():\n    return 1\n"), 10_000)).message).toBe("ExecutorCrashed: the executor pool is closed");
    });

    it("a pythonPath directory that does not exist, or that the jail's user cannot read, fails the tasks with ExecutorCrashed saying so", async () => {
      const closed = mkdtempSync(join(tmpdir(), "faaslab-python-closed-")); // mode 0700
      const pools = [new PythonPool({ executors: 1, memoryMb: 128, name: "missing", pythonPath: ["/nonexistent/faaslab-modules"] })];
      if (process.getuid?.() === 0) pools.push(new PythonPool({ executors: 1, memoryMb: 128, name: "closed", pythonPath: [closed] }));
      try {
        expect(failed(await pools[0].run(python("def f():\n    return 1\n"), 10_000)).message).toBe(
          "ExecutorCrashed: the Python executor could not start: the Python jail cannot be built: the --python-path directory /nonexistent/faaslab-modules does not exist");
        if (pools[1]) {
          expect(failed(await pools[1].run(python("def f():\n    return 1\n"), 10_000)).message).toMatch(
            /^ExecutorCrashed: the Python executor could not start: .*cannot be read by uid 65534, which the jail runs as when this process is root: .* does not let others read it$/);
        }
      } finally {
        await Promise.all(pools.map((p) => p.close()));
        rmSync(closed, { recursive: true, force: true });
      }
    });

    it("available() says why when the interpreter has no dill", async () => {
      const answer = await PythonPool.available("/bin/false");
      expect(answer).toMatchObject({ ok: false, why: expect.stringMatching(/^\/(usr\/)?bin\/false cannot run the executor \(it needs dill/) });
      const missing = await PythonPool.available("/nonexistent/python3");
      expect(missing).toEqual({ ok: false, why: "there is no Python interpreter /nonexistent/python3" });
    });
  });

  describe("ExecutorPool and the python runtime", () => {
    it("routes python tasks to its PythonPool and JavaScript tasks to its threads, and says which runtimes it has", async () => {
      const both = new ExecutorPool({ executors: 1, memoryMb: 128, name: "both", isolation: "thread", python: { pythonPath: [modules] } });
      try {
        expect(both.runtimes()).toEqual(["javascript", "python"]);
        const byReference = pickleFunctionByReference([modules], "tests.test_webservice", "double");
        const outcome = await both.run(python(byReference, pickleArgs("5,")), 10_000);
        expect(completed(outcome)).toBe(10);
        expect(outcome.executor).toBe("both/python-1");
        const js = await both.run({ functionId: "js", source: "(x) => x * 3", args: serialize([5]) }, 10_000);
        expect([js.status, deserialize(js.result)]).toEqual(["COMPLETED", 15]);
      } finally {
        await both.close();
      }
    });

    it("without python options, a python task fails with ExecutorCrashed (RuntimeError) that a Python client reads", async () => {
      const jsOnly = new ExecutorPool({ executors: 1, memoryMb: 128, name: "js-only", isolation: "thread" });
      try {
        expect(jsOnly.runtimes()).toEqual(["javascript"]);
        const outcome = await jsOnly.run(python("def f():\n    return 1\n"), 10_000);
        expect(failed(outcome)).toMatchObject({ type: "RuntimeError", message: "ExecutorCrashed: this executor has no Python runtime" });
        expect(outcome.executor).toBe("js-only");
      } finally {
        await jsOnly.close();
      }
    });
  });
});
