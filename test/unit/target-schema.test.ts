/** The target format: both shipped targets load, and a bad file is refused with the path and line of each bad field. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../system/paths.js";
import { commandLine, loadTarget, parseTarget, TargetError, TARGET_DIR, targetPath } from "../../harness/target/load.js";
import { targetReference } from "../../harness/target/reference.js";

const minimal = `
name: tiny
description: the least a target needs
modes: [local]
functions: { runtime: python, codec: dill-base64 }
components:
  redis:
    command: redis-server --port {port}
    ready: { kind: tcp }
  api:
    command: uvicorn main:app --port {port}
    ready: { kind: http, path: /docs }
  dispatcher:
    local:
      command: python3 task_dispatcher.py -m local -w {executors}
      ready: { kind: running, for: 1s }
`;

/** The message a text is refused with. */
function refusal(text: string): string {
  try {
    parseTarget(text, "bad.yaml");
  } catch (error) {
    expect(error).toBeInstanceOf(TargetError);
    return (error as Error).message;
  }
  throw new Error("the target was accepted");
}

describe("target schema", () => {
  it("fills in the defaults of a minimal file", () => {
    const target = parseTarget(minimal);
    expect(target.ports).toEqual({ api: "given", redis: "given", dispatcher: "given" });
    expect(target.components.api).toEqual({ command: "uvicorn main:app --port {port}", cwd: "{dir}", env: {}, ready: { kind: "http", path: "/docs", timeout: 30_000 }, stop: { signal: "SIGTERM", grace: 5000 } });
    expect(target.components.dispatcher.local?.ready).toEqual({ kind: "running", for: 1000 });
    expect(target.dialect).toEqual({
      statuses: { QUEUED: ["QUEUED"], RUNNING: ["RUNNING"], COMPLETED: ["COMPLETED"], FAILED: ["FAILED"] },
      resultBeforeFinish: "200-with-status",
      successCodes: { register: [200, 201], execute: [200, 201] },
    });
  });

  it("reads a dialect's other spellings, a 404 before the result, its own success codes", () => {
    const target = parseTarget(`${minimal}dialect:\n  statuses: { COMPLETED: [COMPLETED, COMPLETE], FAILED: ERROR }\n  resultBeforeFinish: "404"\n  successCodes: { execute: [202] }\n`);
    expect(target.dialect.statuses).toEqual({ QUEUED: ["QUEUED"], RUNNING: ["RUNNING"], COMPLETED: ["COMPLETED", "COMPLETE"], FAILED: ["ERROR"] });
    expect(target.dialect.resultBeforeFinish).toBe("404");
    expect(target.dialect.successCodes).toEqual({ register: [200, 201], execute: [202] });
  });

  const pullTarget = minimal.replace("modes: [local]", "modes: [local, pull]") +
    '    pull: { command: "python3 task_dispatcher.py -m pull -p {port}", ready: { kind: tcp } }\n' +
    '  pull-worker: { command: "python3 pull_worker.py {executors} {dispatcherUrl}", ready: { kind: running, for: 1s } }\n';

  it("accepts a mode with its dispatcher and its worker", () => {
    expect(parseTarget(pullTarget).components["pull-worker"]?.command).toBe("python3 pull_worker.py {executors} {dispatcherUrl}");
  });

  it.each([
    ["an unknown placeholder", minimal.replace("redis-server --port {port}", "redis-server --port {prot}"), "components.redis.command (line 8): unknown placeholder {prot}: the placeholders are {dir}, {dataDir}, {port},"],
    ["an unknown placeholder in a list of words", minimal.replace("command: redis-server --port {port}", 'command: [redis-server, --port, "{prot}"]'), "components.redis.command[2] (line 8): unknown placeholder {prot}"],
    ["a placeholder the component is not given", minimal.replace("-w {executors}", "-w {executors} -p {port}"), "components.dispatcher.local.command (line 15): {port} is not given to the dispatcher in local mode: it may use {dir}, {dataDir}, {redisPort}, {redisUrl}, {listen}, {python}, {mode}, {executors}"],
    ["a placeholder in env the worker is not given", pullTarget.replace("ready: { kind: running, for: 1s } }\n", 'ready: { kind: running, for: 1s }, env: { API: "{apiPort}" } }\n'), "components.pull-worker.env.API (line 18): {apiPort} is not given to pull-worker"],
    ["a worker that takes Redis's address on separate hosts", `${pullTarget.replace("{executors} {dispatcherUrl}", "{executors} {dispatcherUrl} {redisUrl}")}hosts: [shared, separate]\n`, "components.pull-worker (line 18): on separate hosts a worker has a link to its dispatcher only, not to Redis"],
    ["a port out of range", `${minimal}ports: { api: 80000 }\n`, 'ports.api (line 17): expected a port (1 to 65535) or "given", got 80000'],
    ["a port that is a word", `${minimal}ports: { redis: any }\n`, 'ports.redis (line 17): expected a port (1 to 65535) or "given", got "any"'],
    ["two components on one fixed port", `${minimal}ports: { api: 8000, redis: 8000 }\n`, "ports.redis (line 17): 8000 is already the api port: each component needs its own"],
    ["a missing component", minimal.replace("  api:\n    command: uvicorn main:app --port {port}\n    ready: { kind: http, path: /docs }\n", ""), "  - components.api (line 7): required"],
    ["a listed mode without its dispatcher", minimal.replace("modes: [local]", "modes: [local, push]"), "components.dispatcher.push (line 14): required: modes lists push"],
    ["a listed mode without its worker", minimal.replace("modes: [local]", "modes: [local, pull]") + '    pull: { command: "x -p {port}", ready: { kind: tcp } }\n', "components.pull-worker (line 7): required: modes lists pull"],
    ["a dispatcher for a mode not listed", pullTarget.replace("modes: [local, pull]", "modes: [local]"), "components.dispatcher.pull (line 17): modes does not list pull: add it there, or remove this"],
    ["an unknown mode", minimal.replace("modes: [local]", "modes: [local, puhs]"), 'modes[1] (line 4): expected one of local, pull, push, got "puhs"'],
    ["an unknown readiness kind", minimal.replace("ready: { kind: tcp }", "ready: { kind: ping }"), 'components.redis.ready.kind (line 9): kind must be one of http, tcp, log, running, got "ping"'],
    ["a readiness without a kind", minimal.replace("ready: { kind: tcp }", "ready: { port: redis }"), "components.redis.ready.kind (line 9): kind is required: one of http, tcp, log, running"],
    ["an http readiness without a path", minimal.replace("ready: { kind: http, path: /docs }", "ready: { kind: http }"), "components.api.ready.path (line 12): required"],
    ["a log readiness with a bad pattern", minimal.replace("ready: { kind: tcp }", "ready: { kind: log, pattern: '(unclosed' }"), "components.redis.ready.pattern (line 9): not a valid regular expression"],
    ["a tcp readiness on a component without a port", minimal.replace("ready: { kind: running, for: 1s }", "ready: { kind: tcp }"), "components.dispatcher.local.ready.port (line 16): required: the dispatcher in local mode has no port of its own"],
    ["a bare number as a timeout", minimal.replace("ready: { kind: tcp }", "ready: { kind: tcp, timeout: 10 }"), 'components.redis.ready.timeout (line 9): 10 is a bare number: give its unit, "10s" or "10ms"'],
    ["an unknown stop signal", minimal.replace("ready: { kind: tcp }", "ready: { kind: tcp }\n    stop: { signal: SIGSTOP }"), 'components.redis.stop.signal (line 10): expected one of SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGKILL, got "SIGSTOP"'],
    ["an unknown runtime", minimal.replace("runtime: python", "runtime: ruby"), 'functions.runtime (line 5): expected one of python, javascript, got "ruby"'],
    ["a javascript runtime with dill", minimal.replace("runtime: python", "runtime: javascript"), "functions (line 5): dill-base64 carries Python objects: a javascript runtime needs the faaslab codec"],
    ["an unknown resultBeforeFinish", `${minimal}dialect: { resultBeforeFinish: "204" }\n`, 'dialect.resultBeforeFinish (line 17): expected 200-with-status or "404", got "204"'],
    ["a success code that is not 2xx", `${minimal}dialect: { successCodes: { register: [200, 404] } }\n`, "dialect.successCodes.register[1] (line 17): Too big: expected number to be <=299"],
    ["an unknown status", `${minimal}dialect: { statuses: { DONE: COMPLETE } }\n`, 'dialect.statuses (line 17): unknown field "DONE"'],
    ["one name for two statuses", `${minimal}dialect: { statuses: { COMPLETED: DONE, FAILED: [DONE, ERR] } }\n`, 'dialect.statuses.FAILED (line 17): "DONE" already means COMPLETED: each name means one status'],
    ["a misspelled field", minimal.replace("modes: [local]", "modes: [local]\nmodez: [pull]"), '(top level) (line 5): unknown field "modez"'],
    ["a name with spaces", minimal.replace("name: tiny", "name: my faas"), 'name (line 2): expected lowercase letters, digits and dashes (like mpcsfaas), got "my faas"'],
    ["a file that is not a mapping", "just words", 'bad.yaml is not a valid target: it must be a mapping of fields (name, description, modes, ports, functions, components, dialect), not "just words"'],
  ])("refuses %s, saying where", (_case, text, message) => {
    expect(refusal(text)).toContain(message);
  });

  it("lists every problem of a file at once", () => {
    const message = refusal(minimal.replace("redis-server --port {port}", "redis-server --port {prot}") + "ports: { api: 0 }\n");
    expect(message.split("\n")).toEqual([
      "bad.yaml is not a valid target:",
      '  - ports.api (line 17): expected a port (1 to 65535) or "given", got 0',
    ]);
    // The placeholders are checked once the schema holds: both kinds of problem in turn.
    expect(refusal(minimal.replace("redis-server --port {port}", "redis-server --port {prot}").replace("-w {executors}", "-w {workers}")).split("\n")).toHaveLength(3);
  });
});

describe("commands", () => {
  it("splits a line at spaces and fills in its placeholders; {{ and }} are braces", () => {
    const target = parseTarget(minimal.replace("uvicorn main:app --port {port}", "uvicorn main:app --port {port} --x {{y}}"));
    expect(commandLine(target.components.api, { port: 8000 })).toEqual(["uvicorn", "main:app", "--port", "8000", "--x", "{y}"]);
    expect(() => commandLine(target.components.api, {})).toThrow("no value for the placeholder {port}");
  });
});

describe("loading a target", () => {
  const dir = mkdtempSync(join(tmpdir(), "faaslab-target-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("loads faaslab by its name, in the repository by default", () => {
    const { target, file, dir: implementation } = loadTarget("faaslab");
    expect(file).toBe(join(TARGET_DIR, "faaslab.yaml"));
    expect(implementation).toBe(packageRoot);
    expect(target.modes).toEqual(["local", "pull", "push"]);
    expect(target.ports).toEqual({ api: "given", redis: "given", dispatcher: "given" });
    expect(target.functions).toEqual({ runtime: "javascript", codec: "faaslab" });
    expect(target.dialect.successCodes).toEqual({ register: [201], execute: [201] });
    expect(target.hosts).toEqual(["shared", "separate"]);
    expect(commandLine(target.components.api, { port: 4100, redisUrl: "redis://127.0.0.1:4200", listen: "127.0.0.1" })).toEqual(["faas", "api", "--host", "127.0.0.1", "--port", "4100", "--redis", "redis://127.0.0.1:4200"]);
    expect(commandLine(target.components["push-worker"]!, { executors: 2, dispatcherUrl: "tcp://127.0.0.1:4300" })).toEqual(["faas", "push-worker", "2", "tcp://127.0.0.1:4300"]);
    expect(commandLine(target.components.redis, { port: 4200, dataDir: "/d", listen: "0.0.0.0" })).toContain("");
  });

  it("loads mpcsfaas by its name with the implementation's directory, and needs that directory", () => {
    const { target, dir: implementation } = loadTarget("mpcsfaas", { targetDir: dir });
    expect(implementation).toBe(dir);
    expect(target.ports).toEqual({ api: 8000, redis: 6379, dispatcher: 5555 });
    expect(target.functions).toEqual({ runtime: "python", codec: "dill-base64" });
    expect(target.dialect).toEqual({
      statuses: { QUEUED: ["QUEUED"], RUNNING: ["RUNNING"], COMPLETED: ["COMPLETED"], FAILED: ["FAILED"] },
      resultBeforeFinish: "200-with-status",
      successCodes: { register: [200, 201], execute: [200, 201] },
    });
    const pull = target.components.dispatcher.pull!;
    expect(target.hosts).toEqual(["shared"]);
    const python = "/usr/bin/python3";
    expect(commandLine(pull, { port: 5555, python })).toEqual([python, "task_dispatcher.py", "-m", "pull", "-p", "5555"]);
    expect(commandLine(target.components.dispatcher.local!, { executors: 4, python })).toEqual([python, "task_dispatcher.py", "-m", "local", "-w", "4"]);
    expect(commandLine(target.components["pull-worker"]!, { executors: 2, dispatcherPort: 5555, python })).toEqual([python, "pull_worker.py", "2", "tcp://127.0.0.1:5555"]);
    expect(commandLine(target.components.api, { port: 8000 })).toEqual(["uvicorn", "main:app", "--host", "127.0.0.1", "--port", "8000"]);
    expect(() => loadTarget("mpcsfaas")).toThrow("target mpcsfaas runs an implementation of yours: give its directory with --target-dir");
    expect(() => loadTarget("mpcsfaas", { targetDir: join(dir, "nowhere") })).toThrow(`${join(dir, "nowhere")} is not a directory (--target-dir)`);
  });

  it("loads a file by its path; a bare name is looked for in targets/", () => {
    const file = join(dir, "mine.yaml");
    writeFileSync(file, `${minimal}dir: .\n`);
    expect(targetPath(file)).toBe(file);
    expect(loadTarget(file)).toMatchObject({ file, dir, target: { name: "tiny" } });
    expect(targetPath("mpcsfaas")).toBe(join(TARGET_DIR, "mpcsfaas.yaml"));
    expect(() => targetPath("mine")).toThrow(/^no target "mine": give a name from targets\/ \(faaslab, mpcsfaas\) or a path to a \.yaml file$/);
    expect(() => targetPath(join(dir, "x.yaml"))).toThrow(`no target file "${join(dir, "x.yaml")}": not found`);
    writeFileSync(join(dir, "notes.txt"), "hello");
    expect(() => targetPath(join(dir, "notes.txt"))).toThrow("is not a .yaml file");
  });

  it("refuses a bad file with its name", () => {
    const file = join(dir, "broken.yaml");
    writeFileSync(file, minimal.replace("kind: tcp", "kind: ping"));
    expect(() => loadTarget(file, { targetDir: dir })).toThrow('broken.yaml is not a valid target:\n  - components.redis.ready.kind (line 9): kind must be one of http, tcp, log, running, got "ping"');
  });
});

describe("the format's documentation", () => {
  const readme = readFileSync(join(TARGET_DIR, "README.md"), "utf8");

  it("targets/README.md carries the current field reference, generated from the schema", () => {
    const start = readme.indexOf("-->\n", readme.indexOf("<!-- schema:start")) + 4;
    const end = readme.indexOf("<!-- schema:end -->");
    expect(readme.slice(start, end), "run `npm run target-schema` and paste it into targets/README.md").toBe(targetReference());
  });

  it("every field has a meaning, and every placeholder is in the reference", () => {
    const reference = targetReference();
    expect(reference.split("\n").filter((line) => line.startsWith("| `") && /\|\s*\|$/.test(line))).toEqual([]);
    for (const name of ["dir", "port", "redisUrl", "dispatcherUrl", "executors", "worker", "mode", "apiPort"]) expect(reference).toContain(`| \`{${name}}\` |`);
  });

  it("its example of a target of one's own is valid", () => {
    const match = /```yaml\n(# my-faas[\s\S]*?)```/.exec(readme);
    expect(match, "targets/README.md has a ```yaml example starting with # my-faas").not.toBeNull();
    expect(parseTarget(match![1], "the README's example").name).toBe("my-faas");
  });
});

describe("the report's replay command", () => {
  it("carries --target and --target-dir as they were given, quoted where a shell needs it", async () => {
    const { replayCommand } = await import("../../harness/report/markdown.js");
    const { loadScenario } = await import("../../harness/scenario/load.js");
    const { scenario, file } = loadScenario("fault-tolerance");
    expect(replayCommand(scenario, file, 7)).toBe("npm run scenario fault-tolerance -- --seed 7");
    expect(replayCommand(scenario, file, 7, { targets: ["mpcsfaas"], targetDir: "../their faas" })).toBe('npm run scenario fault-tolerance -- --seed 7 --target mpcsfaas --target-dir "../their faas"');
  });
});
