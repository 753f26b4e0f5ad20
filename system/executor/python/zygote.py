"""faaslab's Python executor: the processes inside the jail (see python-pool.ts for the jail).

One file, three roles, chosen by the first argument:

  main     PID 1 of the jail's PID namespace. It speaks to the pool over stdin and stdout, one
           JSON object a line, holds every task's payload and deadline, and never runs user
           code, never unpickles, and never forks without exec: it starts the forker with
           posix_spawn, so no task's data is ever copied into a process that runs user code.
           As PID 1 of its namespace it cannot be killed or stopped from inside the jail.
  forker   A clean interpreter that has imported dill and warmed it up, and holds nothing of
           any task. For each task main hands it two pipe ends; it forks a child, which reads
           its task from one pipe and writes its answer to the other, then exits. The forker
           reports each child's pid and, once it has reaped it, its wait status. If it dies
           (a task can signal it), main starts a new one. main asks for one child more than
           the tasks need, the spare: forked and set up while other tasks run, it waits for
           the next task, which so does not wait for a fork.
  describe Run on the host, outside any jail: prints what the jail must contain (the
           interpreter, its standard library, dill) as JSON.

A task's child applies its limits (address space, file size, processes, no core dumps) and only
then unpickles anything: unpickling runs code. It calls the function and answers with base64 of
the dill pickle of the return value or of the exception, or with one of faaslab's errors by name,
which the pool turns into the built-in exception its client gets (answer_frame: one frame of an
8-byte length and b"C"/b"F" and the pickle, or b"E", the name, NUL and the message). Every child is a fresh fork of the forker, so nothing carries from one task to the next.
main gives a task's answer as soon as its child has written it; then, once the child has exited,
main kills every process of the jail that is not main, the forker, the spare or a running task's
child or descendant, and removes the task's directory in /tmp, and only then does the task's
executor take another task.

Messages, pool to main:   {"type": "run", "id": n, "source": s, "args": a, "deadlineMs": ms}
          main to pool:   {"type": "ready", "version": "3.11.2"}
                          {"type": "outcome", "id": n, "status": "COMPLETED"|"FAILED", "result": b64}
                          {"type": "outcome", "id": n, "error": name, "message": text, "answered": bool}
          ("answered": whether a task's child gave the error, or main did: a deadline, a crash)
main and the forker:      a SOCK_SEQPACKET pair; main sends {"token": t} with the task's two pipe
                          ends, the forker answers {"token": t, "pid": p}, then {"pid": p, "status": s}
"""

import json
import os
import signal
import socket
import sys

ROLE = sys.argv[1] if len(sys.argv) > 1 else ""

# The errors a child may answer with; main adds DeadlineExceeded and the crashes.
CHILD_ERRORS = ("SerializationError", "ResourceLimitExceeded", "ResultTooLarge", "InvalidFunctionError", "FunctionNotFound", "ExecutorCrashed")
FUNCTION_FILENAME = "<faaslab function>"
PR_SET_DUMPABLE = 4
PR_SET_NAME = 15
# A task's child is named IDLE_NAME while it waits for its task (the spare, forked ahead of it),
# TASK_NAME once it has it, so that whoever looks at the jail's processes can tell them apart.
IDLE_NAME = b"faaslab-idle"
TASK_NAME = b"faaslab-task"


LIBC = []  # the C library, opened once: the forker opens it, and its children inherit it


def libc():
    import ctypes

    if not LIBC:
        LIBC.append(ctypes.CDLL(None, use_errno=True))
    return LIBC[0]


def set_name(name):
    """The process's name (/proc/<pid>/comm); a failure is not worth failing a task for."""
    import ctypes

    try:
        libc().prctl(PR_SET_NAME, ctypes.c_char_p(name), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def set_not_dumpable():
    """No process of the jail may ptrace this one or read its memory, fds or environment through /proc."""
    import ctypes

    if libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")


def describe():
    import sysconfig

    import dill

    paths = sysconfig.get_paths()
    dynload = sysconfig.get_config_var("DESTSHARED") or paths["platstdlib"]
    print(json.dumps({
        "executable": os.path.realpath(sys.executable),
        "version": "%d.%d.%d" % sys.version_info[:3],
        "stdlib": sorted({os.path.realpath(paths["stdlib"]), os.path.realpath(paths["platstdlib"])}),
        "dynload": os.path.realpath(dynload),
        "dill": os.path.realpath(os.path.dirname(dill.__file__)),
        "dillVersion": dill.__version__,
    }))


# ---------------------------------------------------------------------------------------------
# The forker and the task child
# ---------------------------------------------------------------------------------------------

class TaskError(Exception):
    """One of faaslab's errors for the task, by name."""

    def __init__(self, name, message):
        super().__init__(message)
        self.name = name
        self.message = message


def forker(config):
    sys.path[:] = [p for p in sys.path if os.path.isdir(p)] + [config["site"]] + config["pythonPath"]
    import base64  # noqa: F401  (warm: the child uses them)
    import binascii  # noqa: F401
    import builtins  # noqa: F401
    import fcntl  # noqa: F401
    import resource  # noqa: F401
    import struct  # noqa: F401
    import tempfile  # noqa: F401
    import types  # noqa: F401

    import dill

    set_not_dumpable()
    guard_code_layout(dill)
    capture_clean_state()
    # Warm up what the first task would otherwise pay for: dill's tables, a function by value.
    dill.loads(dill.dumps((lambda x: x * 2, ((1,), {}))))
    # What exists now is never collected here, so a collection in a child does not write to
    # (and so copy) the pages of every object it inherited.
    import gc

    gc.collect()
    gc.freeze()
    ctl = socket.socket(fileno=3)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGINT, signal.SIG_DFL)

    def send(message):
        try:
            ctl.send(json.dumps(message).encode())
        except OSError:
            os._exit(0)  # main is gone; the jail is ending

    send({"ready": True})
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(ctl, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select():
            if key.fileobj is ctl:
                try:
                    data, fds, _, _ = socket.recv_fds(ctl, 4096, 2)
                except OSError:
                    os._exit(0)
                if not data:
                    os._exit(0)
                request = json.loads(data)
                if len(fds) != 2:
                    for fd in fds:
                        os.close(fd)
                    send({"token": request["token"], "error": "the task's pipes did not arrive"})
                    continue
                try:
                    pid = os.fork()
                except OSError as error:
                    send({"token": request["token"], "error": "fork failed: %s" % error})
                    pid = None
                if pid == 0:
                    child(config, request["token"], fds[0], fds[1], [ctl.fileno(), wake_r, wake_w])  # never returns
                for fd in fds:
                    os.close(fd)
                if pid is not None:
                    send({"token": request["token"], "pid": pid})
            else:
                try:
                    os.read(wake_r, 4096)
                except BlockingIOError:
                    pass
            for pid, status in exited_children():
                send({"pid": pid, "status": status})


def exited_children():
    """(pid, wait status) of each child that has exited, without waiting for any."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        yield pid, status


def child(config, token, task_fd, result_fd, inherited):
    """A task's process; it always ends in os._exit, never back in the forker's loop."""
    code = 70
    try:
        set_name(IDLE_NAME)
        os.setsid()  # a process group of its own: its descendants are killed with it
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        for fd in inherited:
            os.close(fd)
        # Nothing of the jail's own channels is in reach: stdin, stdout and stderr are /dev/null,
        # the task arrives on fd 3 and the answer leaves on fd 4.
        devnull = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        import fcntl

        task_fd = fcntl.fcntl(task_fd, fcntl.F_DUPFD, 10)
        result_fd = fcntl.fcntl(result_fd, fcntl.F_DUPFD, 10)
        os.dup2(task_fd, 3)
        os.dup2(result_fd, 4)
        os.closerange(5, 1 << 16)
        task_fd, result_fd = 3, 4
        frame = answer_frame(run_task(config, token, task_fd))
        view = memoryview(len(frame).to_bytes(8, "big") + frame)
        while view:
            view = view[CLEAN["write"](result_fd, view):]
        code = 0
    except BaseException:  # noqa: B036: nothing may escape into the forker's loop
        pass
    finally:
        CLEAN.get("exit", os._exit)(code)


def answer_frame(answer):
    """A child's answer to main: b"C" or b"F" and the base64 pickle, or b"E", an error name, NUL and its message."""
    if "error" in answer:
        return b"E" + answer["error"].encode() + b"\0" + answer["message"].encode("utf-8", "replace")
    return (b"C" if answer["status"] == "COMPLETED" else b"F") + answer["result"].encode("ascii")


# What the child uses once the function has run, taken before any user code: a function may
# rebind builtins (len, range, ...) or these modules' functions, and its outcome must still be
# encoded. Its builtins are put back before the encoding starts.
CLEAN = {}


def capture_clean_state():
    import base64
    import builtins

    import dill

    CLEAN.update(builtins_dict=builtins.__dict__, builtins=dict(builtins.__dict__), dumps=dill.dumps, loads=dill.loads,
                 encodebytes=base64.encodebytes, write=os.write, exit=os._exit)


def restore_builtins():
    current, saved = CLEAN["builtins_dict"], CLEAN["builtins"]
    current.update(saved)
    for name in [name for name in current if name not in saved]:
        del current[name]


def guard_code_layout(dill):
    """
    dill rebuilds a code object pickled by another Python minor version from whatever fields fit,
    and the bytecode then runs on an interpreter it was not compiled for (it may compute nonsense
    or crash). A code object whose pickled fields are not this version's layout is refused.
    """
    create_code = dill._dill._create_code
    sample = guard_code_layout.__code__
    if hasattr(sample, "co_endlinetable"):
        expected = 20
    elif hasattr(sample, "co_exceptiontable"):
        expected = 18
    elif hasattr(sample, "co_posonlyargcount"):
        expected = 16
    else:
        expected = 15
    layouts = {15: "Python 3.7", 16: "Python 3.8 to 3.10", 18: "Python 3.11 or later", 20: "a Python 3.11 alpha"}

    def checked_create_code(*args):
        fields = args[1:] if args and not isinstance(args[0], int) else args
        if len(fields) != expected:
            raise ForeignCode("its code was pickled by %s, and this executor runs Python %s" % (layouts.get(len(fields), "another Python"), version()))
        return create_code(*args)

    # Only what unpickling finds is replaced (pickling still names dill._dill._create_code).
    find_class = dill._dill.Unpickler.find_class

    def checked_find_class(self, module, name):
        found = find_class(self, module, name)
        return checked_create_code if found is create_code else found

    dill._dill.Unpickler.find_class = checked_find_class


class ForeignCode(Exception):
    pass


def apply_limits(config):
    import resource

    with open("/proc/self/statm") as f:
        vsize = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    address_space = vsize + config["memoryMb"] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (config["fileBytes"], config["fileBytes"]))
    resource.setrlimit(resource.RLIMIT_NPROC, (config["processes"], config["processes"]))
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))


def read_all(fd):
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def run_task(config, token, task_fd):
    """
    The task's answer. A MemoryError is only noted where it is caught: its traceback holds the
    frames (and so the memory) that ran out, and the answer is made once they are released.
    """
    memory = {"error": "ResourceLimitExceeded", "message": "the function ran out of its memory limit of %d MiB (MemoryError)" % config["memoryMb"]}
    out_of_memory = False
    try:
        apply_limits(config)
        function, args, kwargs = prepare(config, token, task_fd)
        raised = None
        try:
            value = function(*args, **kwargs)
        except MemoryError:
            out_of_memory = True
        except BaseException as error:  # noqa: B036: the function's exception is its outcome
            raised = error
            raised.__traceback__ = None
        restore_builtins()
        if not out_of_memory:
            if raised is not None:
                return {"status": "FAILED", "result": encode_exception(raised, config)}
            return {"status": "COMPLETED", "result": encode(value, "return value", config)}
    except TaskError as error:
        return {"error": error.name, "message": error.message}
    except MemoryError:
        out_of_memory = True
    except BaseException as error:  # noqa: B036
        return {"error": "ExecutorCrashed", "message": "the executor failed before the function's outcome was known: %s" % describe_error(error)}
    return memory


def prepare(config, token, task_fd):
    """Reads the task, makes its working directory and a fresh __main__, and unpickles the function and its arguments."""
    raw = read_all(task_fd)
    set_name(TASK_NAME)
    payload = json.loads(raw)
    os.close(task_fd)
    import builtins
    import tempfile
    import types

    import dill

    # A private working directory; stray files elsewhere in /tmp are removed once the jail is idle.
    directory = "/tmp/task-%s" % token
    os.mkdir(directory, 0o700)
    os.chdir(directory)
    tempfile.tempdir = directory
    # A fresh __main__: what a function pickled by value (dill refers to __main__'s globals)
    # or defined in source sees as its globals, and what dill pickles by value again.
    main_module = types.ModuleType("__main__")
    main_module.__builtins__ = builtins
    sys.modules["__main__"] = main_module
    dill._dill._main_module = main_module
    function = load_function(payload["source"], main_module)
    args, kwargs = load_args(payload["args"])
    return function, args, kwargs


def is_pickle_payload(text):
    """What codec/pickle.ts's isPicklePayload tells: base64 of protocol 2 to 5, ending in STOP."""
    data = b64decode(text)
    return data is not None and len(data) >= 3 and data[0] == 0x80 and 2 <= data[1] <= 5 and data[-1] == 0x2E


def b64decode(text):
    import base64
    import binascii

    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def short_repr(value, limit=500):
    try:
        text = repr(value)
    except BaseException:  # noqa: B036: a user __repr__ may raise anything
        text = "<%s object whose repr failed>" % type(value).__name__
    return text if len(text) <= limit else text[:limit] + "..."


def describe_error(error):
    text = _str(error)
    return "%s: %s" % (type(error).__name__, text if len(text) <= 500 else text[:500] + "...")


def _str(error):
    try:
        return str(error)
    except BaseException:  # noqa: B036: a user __str__ may raise anything
        return "?"


def version():
    return "%d.%d" % sys.version_info[:2]


def load_function(source, main_module):
    import dill

    if not isinstance(source, str):
        raise TaskError("InvalidFunctionError", "the function is neither a pickle nor source text")
    if is_pickle_payload(source):
        try:
            function = dill.loads(b64decode(source))
        except MemoryError:
            raise
        except ImportError as error:
            module = error.name or "?"
            raise TaskError("FunctionNotFound", "the function is pickled by reference to a module this executor cannot import: "
                            "no module '%s' (%s); add its directory with --python-path" % (module, _str(error)))
        except AttributeError as error:
            raise TaskError("FunctionNotFound", "the function is pickled by reference, and its module has no such name: %s" % _str(error))
        except ForeignCode as error:
            raise TaskError("InvalidFunctionError", "the function cannot be unpickled by this executor: %s; a function pickled by value "
                            "must come from the same Python minor version" % _str(error))
        except BaseException as error:  # noqa: B036
            raise TaskError("InvalidFunctionError", "the function cannot be unpickled by this executor's Python %s (%s); a function "
                            "pickled by value must come from the same Python minor version" % (version(), describe_error(error)))
        if not callable(function):
            raise TaskError("InvalidFunctionError", "the pickle holds %s, not a function" % type(function).__name__)
        # dill (unless recurse=True) pickles a function of the client's __main__ with a reference
        # to __main__'s globals, which here are a fresh module's: a recursive function would not
        # find itself. Its own name is bound there, as it was where it was defined.
        if getattr(function, "__globals__", None) is main_module.__dict__ and isinstance(getattr(function, "__name__", None), str):
            main_module.__dict__.setdefault(function.__name__, function)
        return function
    try:
        code = compile(source, FUNCTION_FILENAME, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        raise TaskError("InvalidFunctionError", "the function's source does not compile: %s" % describe_error(error))
    try:
        exec(code, main_module.__dict__)
    except MemoryError:
        raise
    except BaseException as error:  # noqa: B036
        raise TaskError("InvalidFunctionError", "the function's source raised %s when it was run to define the function" % describe_error(error))
    import types

    functions = [value for value in main_module.__dict__.values()
                 if isinstance(value, types.FunctionType) and value.__code__.co_filename == FUNCTION_FILENAME]
    if len(functions) != 1:
        raise TaskError("InvalidFunctionError", "the source must define exactly one function, and it defines %d" % len(functions))
    return functions[0]


def load_args(text):
    import dill

    data = b64decode(text) if isinstance(text, str) else None
    if data is None:
        raise TaskError("SerializationError", "the arguments are not base64 of a pickle")
    try:
        pair = dill.loads(data)
    except MemoryError:
        raise
    except ImportError as error:
        raise TaskError("SerializationError", "the arguments cannot be unpickled: no module '%s' (%s); add its directory with "
                        "--python-path" % (error.name or "?", _str(error)))
    except BaseException as error:  # noqa: B036
        raise TaskError("SerializationError", "the arguments cannot be unpickled (%s)" % describe_error(error))
    if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], (tuple, list)) and isinstance(pair[1], dict)):
        raise TaskError("SerializationError", "the arguments must be a pickled pair ((args...), {kwargs}), not %s" % short_repr(type(pair).__name__))
    if not all(isinstance(key, str) for key in pair[1]):
        raise TaskError("SerializationError", "the keyword arguments' names must be strings")
    return tuple(pair[0]), pair[1]


def encode(value, what, config):
    try:
        data = CLEAN["dumps"](value)
    except MemoryError:
        raise
    except BaseException as error:  # noqa: B036
        raise TaskError("SerializationError", "the %s cannot be pickled: %s" % (what, describe_error(error)))
    text = CLEAN["encodebytes"](data).decode("ascii")
    if len(text) > config["maxResultBytes"]:
        raise TaskError("ResultTooLarge", "the pickled %s is %d bytes, over the limit of %d bytes" % (what, len(text), config["maxResultBytes"]))
    return text


def encode_exception(error, config):
    """The exception as the client will get it; one that does not survive a round trip becomes a TypeError."""
    error.__traceback__ = None
    try:
        text = encode(error, "exception", config)
        CLEAN["loads"](b64decode(text))  # what the client will do; a child may run this
        return text
    except TaskError as problem:
        if problem.name != "SerializationError":
            raise
    except MemoryError:
        raise
    except BaseException:  # noqa: B036
        pass
    raise TaskError("SerializationError", "the function raised %s, which cannot be pickled and unpickled" % short_repr(error))


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------

def main(config):
    import select
    import selectors
    import stat
    import time

    if os.getpid() != 1:
        # main removes what it finds in /tmp and kills what it finds in /proc: only in its jail.
        sys.stderr.write("zygote.py main runs only as PID 1 of its jail (python-pool.ts starts it)\n")
        sys.exit(2)
    set_not_dumpable()
    os.environ.clear()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    selector = selectors.DefaultSelector()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector.register(wake_r, selectors.EVENT_READ, "wake")
    os.set_blocking(0, False)
    selector.register(0, selectors.EVENT_READ, "stdin")
    executors = config["executors"]
    script = os.path.abspath(sys.argv[0])
    stdin_buffer = bytearray()
    scanned = [0]  # how much of stdin_buffer holds no newline
    tasks = {}  # id -> Task, every task not yet answered
    by_pid = {}
    by_token = {}
    queue = []
    # "spare": a child forked ahead of the next task (a Task without a request), set up and waiting for it.
    state = {"forker": None, "ctl": None, "ready": False, "tokens": 0, "forker_ready": False, "unready_deaths": 0, "spare": None}

    def log(text):
        try:
            os.write(2, ("python executor: %s\n" % text).encode())
        except OSError:
            pass

    def emit(message):
        data = (json.dumps(message) + "\n").encode()
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(1, view):]
            except BlockingIOError:
                select.select([], [1], [])  # a full pipe: wait until the pool reads
            except OSError:
                os._exit(0)  # the pool is gone

    def start_forker():
        ctl_main, ctl_forker = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        os.set_inheritable(ctl_forker.fileno(), True)
        actions = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0), (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)]
        if ctl_forker.fileno() != 3:
            actions.append((os.POSIX_SPAWN_DUP2, ctl_forker.fileno(), 3))
        pid = os.posix_spawn(sys.executable, [sys.executable, "-I", "-S", "-B", script, "forker", json.dumps(config)], {}, file_actions=actions)
        ctl_forker.close()
        ctl_main.setblocking(False)
        selector.register(ctl_main, selectors.EVENT_READ, "ctl")
        state.update(forker=pid, ctl=ctl_main, forker_ready=False)

    class Task:
        """A task, from its request until its executor is released; without a request, the spare child."""

        def __init__(self, request=None):
            self.id = None if request is None else int(request["id"])
            self.deadline_ms = 0.0 if request is None else float(request["deadlineMs"])
            self.deadline = float("inf") if request is None else time.monotonic() + self.deadline_ms / 1000
            self.payload = None if request is None else json.dumps({"source": request.get("source"), "args": request.get("args")}).encode()
            self.answered = False  # its outcome was given; it still holds its executor until its child is gone
            self.token = None
            self.pid = None
            self.writer = None
            self.reader = None
            self.buffer = bytearray()
            self.frame = None
            self.status = None
            self.killed_for = None
            self.ending_since = None
            self.started = None

    def answer(task, message):
        """Gives the task's outcome, unless it was given already, and releases its executor."""
        if not task.answered:
            give(task, message)
        release(task)

    def give(task, message):
        message.update(type="outcome", id=task.id)
        emit(message)
        task.answered = True
        task.frame = None

    def release(task):
        """The task's child is gone (or never was): its executor, pipes and files go, and the next task may start."""
        tasks.pop(task.id, None)
        if task.pid is not None:
            by_pid.pop(task.pid, None)
        if task.token is not None:
            by_token.pop(task.token, None)
        for fd in (task.writer, task.reader):
            if fd is not None:
                close_watched(fd)
        task.writer = task.reader = None
        if task.token is not None:
            remove("/tmp/task-%s" % task.token)
        # What else is in /tmp was left by tasks that ended, unless a running task made or changed
        # it since it started: the others' own directories and anything newer stay, until then.
        running = [t for t in tasks.values() if t.token is not None]
        keep = {"task-%s" % t.token for t in running}
        since = min((t.started for t in running), default=None)
        for name in os.listdir("/tmp"):
            if name in keep:
                continue
            try:
                if since is not None and os.lstat(os.path.join("/tmp", name)).st_ctime >= since:
                    continue
            except OSError:
                continue
            remove(os.path.join("/tmp", name))
        start_queued()

    def close_watched(fd):
        try:
            selector.unregister(fd)
        except (KeyError, ValueError):
            pass
        try:
            os.close(fd)
        except OSError:
            pass

    def remove(path):
        """
        Removes a file or a whole tree a task left in /tmp, whatever it did to it: directories
        without permissions, nesting deeper than any path or recursion limit, symlinks (removed,
        never followed). It walks down with relative chdir and back up, and never raises.
        """
        try:
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                os.unlink(path)
                return
            os.chmod(path, 0o700)
            os.chdir(path)
            names = []  # the directories walked down into, from path
            while True:
                into = None
                for name in os.listdir("."):
                    if stat.S_ISDIR(os.lstat(name).st_mode):
                        into = name
                        break
                    os.unlink(name)
                if into is not None:
                    os.chmod(into, 0o700)
                    os.chdir(into)
                    names.append(into)
                elif names:
                    os.chdir("..")
                    os.rmdir(names.pop())
                else:
                    break
            os.chdir("/tmp")
            os.rmdir(path)
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as error:
            log("could not remove %s: %s" % (path, error))
        finally:
            try:
                os.chdir("/tmp")
            except OSError:
                pass

    def start_queued():
        while queue and sum(1 for t in tasks.values() if t.token is not None) < executors:
            start(queue.pop(0))

    def start(task):
        if time.monotonic() >= task.deadline:
            answer(task, deadline_error(task))
            return
        task.started = time.time()
        task.view = memoryview(task.payload)
        spare = state["spare"]
        if spare is not None:
            state["spare"] = None
            bind(task, spare)
        else:
            hand_to_forker(task)
        selector.register(task.writer, selectors.EVENT_WRITE, ("write", task))
        selector.register(task.reader, selectors.EVENT_READ, ("read", task))
        make_spare()

    def hand_to_forker(child):
        """Asks the forker for a child for `child` (a task, or the spare): a token and the two pipes."""
        state["tokens"] += 1
        child.token = "%d-%d" % (child.id, state["tokens"]) if child.id is not None else "spare-%d" % state["tokens"]
        by_token[child.token] = child
        task_r, task_w = os.pipe()
        result_r, result_w = os.pipe()
        try:
            socket.send_fds(state["ctl"], [json.dumps({"token": child.token}).encode()], [task_r, result_w])
            os.kill(state["forker"], signal.SIGCONT)  # a task may have stopped it
        except OSError as error:
            log("could not hand a task to the forker: %s" % error)
        finally:
            os.close(task_r)
            os.close(result_w)
        os.set_blocking(task_w, False)
        os.set_blocking(result_r, False)
        child.writer, child.reader = task_w, result_r

    def make_spare():
        """
        Forks the next task's child now, off that task's path: it is a fresh fork of the forker,
        as every task's child is, and it applies its limits and waits for its task on its pipe.
        """
        if state["spare"] is not None or not state["forker_ready"]:
            return
        spare = Task()
        state["spare"] = spare
        hand_to_forker(spare)

    def bind(task, spare):
        """The task takes the spare child, its pipes and its token."""
        task.token, task.writer, task.reader, task.pid = spare.token, spare.writer, spare.reader, spare.pid
        by_token[task.token] = task
        if task.pid is not None:
            by_pid[task.pid] = task
            task.payload = None  # forked: it will never be handed to a forker again
            try:
                os.kill(task.pid, signal.SIGCONT)  # a task running beside the spare may have stopped it
            except OSError:
                pass

    def drop_spare():
        spare = state["spare"]
        if spare is None:
            return
        state["spare"] = None
        by_token.pop(spare.token, None)
        if spare.pid is not None:
            by_pid.pop(spare.pid, None)
            kill(spare, "dropped")
        for fd in (spare.writer, spare.reader):
            if fd is not None:
                close_watched(fd)
        spare.writer = spare.reader = None

    def deadline_error(task):
        return {"error": "DeadlineExceeded", "message": "the task ran past its deadline of %d ms and was stopped" % task.deadline_ms, "answered": False}

    def kill(task, reason):
        if task.killed_for is None:
            task.killed_for = reason
        if task.pid is not None:
            for target in (-task.pid, task.pid):
                try:
                    os.kill(target, signal.SIGKILL)
                except OSError:
                    pass

    def processes():
        """pid -> (ppid, state) of every process of the jail."""
        found = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % name) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                found[int(name)] = (int(fields[1]), fields[0])
            except (OSError, IndexError, ValueError):
                pass
        return found

    def sweep():
        """Kills every process that is not main, the forker, the spare or a running task's; returns how many remain."""
        spare = state["spare"]
        if any(t.token is not None and t.pid is None and t.status is None for t in tasks.values()) or (spare is not None and spare.pid is None):
            return 1  # a child is being forked and its pid is not known yet: try again later
        table = processes()
        keep = {os.getpid(), state["forker"]}
        if spare is not None:
            keep.add(spare.pid)
        roots = [t.pid for t in tasks.values() if t.pid is not None and t.status is None and t.killed_for is None]
        children = {}
        for pid, (ppid, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        while roots:
            pid = roots.pop()
            if pid in keep:
                continue
            keep.add(pid)
            roots.extend(children.get(pid, []))
        remaining = 0
        for pid, (ppid, st) in table.items():
            if pid in keep:
                continue
            remaining += 1
            if st != "Z":
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        reap()
        return remaining

    def reap():
        for pid, status in exited_children():
            if pid == state["forker"]:
                forker_died(status)
            elif pid in by_pid:
                exited(by_pid[pid], status)

    def forker_died(status):
        # A forker that never once became ready cannot start here (the jail ends, and says why);
        # one killed while it restarts (a task's kill(-1), say) is started again, a few times in a row at most.
        if not state["forker_ready"]:
            state["unready_deaths"] += 1
            if not state["ready"] or state["unready_deaths"] > 5:
                log("the forker died before it was ready (wait status %d); the jail ends" % status)
                os._exit(1)
        log("the forker ended (wait status %d); starting a new one" % status)
        try:
            selector.unregister(state["ctl"])
        except (KeyError, ValueError):
            pass
        state["ctl"].close()
        drop_spare()  # the new forker makes the next one once it is ready
        # A task handed to the dead forker that it never forked has run nothing: it goes first
        # to the new one (a task that killed the forker must not fail the next task with it).
        unstarted = [task for task in tasks.values() if task.token is not None and task.pid is None]
        for task in unstarted:
            by_token.pop(task.token, None)
            for fd in (task.writer, task.reader):
                if fd is not None:
                    close_watched(fd)
            task.token = task.writer = task.reader = task.started = None
            task.buffer = bytearray()
        queue[:0] = sorted(unstarted, key=lambda task: task.id)
        start_forker()
        start_queued()

    def exited(task, status):
        if task is state["spare"]:
            drop_spare()  # it died waiting for a task (a task beside it can kill it): another takes its place
            make_spare()
            return
        if task.status is not None:
            return
        task.status = status
        task.ending_since = time.monotonic()
        if task.writer is not None:
            close_watched(task.writer)
            task.writer = None

    def finish_ready_tasks():
        ending = [t for t in tasks.values() if t.status is not None]
        if not ending:
            return
        remaining = sweep()
        for task in ending:
            if task.reader is not None and time.monotonic() - task.ending_since < 2:
                continue  # its answer may still be in the pipe
            if remaining and time.monotonic() - task.ending_since < 2:
                continue
            answer(task, None if task.answered else outcome_of(task))

    def outcome_of(task):
        if task.frame is not None:
            kind, body = task.frame[:1], task.frame[1:]
            if kind in (b"C", b"F"):
                if len(body) > config["maxResultBytes"]:
                    return {"error": "ResultTooLarge", "message": "the pickled result is %d bytes, over the limit of %d bytes" % (len(body), config["maxResultBytes"]), "answered": True}
                try:
                    return {"status": "COMPLETED" if kind == b"C" else "FAILED", "result": body.decode("ascii")}
                except UnicodeDecodeError:
                    pass
            elif kind == b"E" and b"\0" in body:
                name, message = body.split(b"\0", 1)
                name = name.decode("ascii", "replace")
                if name in CHILD_ERRORS:
                    return {"error": name, "message": message.decode("utf-8", "replace")[:4000], "answered": True}
            return {"error": "ExecutorCrashed", "message": "the executor's answer could not be read", "answered": False}
        if task.killed_for == "deadline":
            return deadline_error(task)
        if task.killed_for == "too-large":
            return {"error": "ResultTooLarge", "message": "the pickled result is over the limit of %d bytes" % config["maxResultBytes"], "answered": True}
        status = task.status
        if os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            try:
                name = signal.Signals(number).name
            except ValueError:
                name = "signal %d" % number
            if number == signal.SIGKILL:
                return {"error": "ResourceLimitExceeded", "message": "the executor was killed (SIGKILL) while running the task, as the kernel's "
                        "out-of-memory killer does when memory runs out", "answered": False}
            return {"error": "ExecutorCrashed", "message": "the executor died of %s while running the task" % name, "answered": False}
        return {"error": "ExecutorCrashed", "message": "the executor exited with code %d before it answered" % os.waitstatus_to_exitcode(status), "answered": False}

    def on_ctl():
        while True:
            try:
                data = state["ctl"].recv(4096)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                try:
                    selector.unregister(state["ctl"])
                except (KeyError, ValueError):
                    pass
                return  # the forker is gone; its exit is reaped as main's child
            message = json.loads(data)
            if message.get("ready"):
                state["forker_ready"] = True
                state["unready_deaths"] = 0
                if not state["ready"]:
                    state["ready"] = True
                    emit({"type": "ready", "version": "%d.%d.%d" % sys.version_info[:3]})
                make_spare()
            elif "token" in message:
                task = by_token.get(message["token"])
                if task is None:
                    continue
                if "error" in message:
                    if task is state["spare"]:
                        drop_spare()  # no process to spare now (a task may hold them all): the next task makes one
                    else:
                        answer(task, {"error": "ExecutorCrashed", "message": "the executor could not be started: %s" % message["error"], "answered": False})
                else:
                    task.pid = message["pid"]
                    task.payload = None  # forked: it will never be handed to a forker again
                    by_pid[task.pid] = task
                    if task.killed_for is not None:
                        kill(task, task.killed_for)
            elif "pid" in message:
                task = by_pid.get(message["pid"])
                if task is not None:
                    exited(task, message["status"])

    def on_stdin():
        try:
            chunk = os.read(0, 1 << 20)
        except BlockingIOError:
            return
        if not chunk:
            # The pool closed the jail: end everything.
            for task in tasks.values():
                kill(task, "closed")
            os._exit(0)
        stdin_buffer.extend(chunk)
        while True:
            end = stdin_buffer.find(b"\n", scanned[0])
            if end < 0:
                scanned[0] = len(stdin_buffer)
                return
            line = bytes(stdin_buffer[:end])
            del stdin_buffer[:end + 1]
            scanned[0] = 0
            try:
                request = json.loads(line)
                if request.get("type") != "run":
                    continue
                task = Task(request)
            except (ValueError, TypeError, KeyError, AttributeError) as error:
                log("a request that is not one was ignored: %s" % error)
                continue
            tasks[task.id] = task
            queue.append(task)
            start_queued()

    def on_write(task):
        try:
            written = os.write(task.writer, task.view[:1 << 16])
        except BlockingIOError:
            return
        except OSError:
            written = None
        if written is not None:
            task.view = task.view[written:]
        if written is None or not task.view:
            close_watched(task.writer)
            task.writer = None
            task.view = None  # the payload is kept until the task is forked: a forker may die first

    def on_read(task):
        try:
            chunk = os.read(task.reader, 1 << 20)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if chunk:
            task.buffer.extend(chunk)
            if len(task.buffer) >= 8:
                length = int.from_bytes(task.buffer[:8], "big")
                if length > config["maxResultBytes"] + 65536:
                    kill(task, "too-large")
                    chunk = b""
                elif len(task.buffer) >= 8 + length:
                    task.frame = bytes(task.buffer[8:8 + length])
                    # The outcome is known: given now, while the child exits and is cleaned up
                    # after; its executor is released (and the next task started) only then.
                    give(task, outcome_of(task))
                    chunk = b""
            if chunk:
                return
        close_watched(task.reader)
        task.reader = None
        task.buffer = bytearray()

    start_forker()
    while True:
        now = time.monotonic()
        timeout = None
        for task in list(tasks.values()):
            if task.token is None or task.status is not None or task.killed_for is not None:
                continue
            if now >= task.deadline:
                kill(task, "deadline")
            else:
                timeout = task.deadline - now if timeout is None else min(timeout, task.deadline - now)
        for task in list(tasks.values()):
            if task.token is None and now >= task.deadline:
                queue.remove(task)
                answer(task, deadline_error(task))
        if any(t.status is not None for t in tasks.values()):
            timeout = 0.005 if timeout is None else min(timeout, 0.005)
        if any(t.status is None and (t.answered or t.frame is not None or t.killed_for is not None) for t in tasks.values()):
            # A child that answered (or was killed) but whose exit the forker has not reported:
            # a task may have stopped the forker, which is woken until it reports.
            try:
                os.kill(state["forker"], signal.SIGCONT)
            except OSError:
                pass
            timeout = 0.005 if timeout is None else min(timeout, 0.005)
        for key, _ in selector.select(timeout):
            if key.data == "stdin":
                on_stdin()
            elif key.data == "ctl":
                on_ctl()
            elif key.data == "wake":
                try:
                    os.read(wake_r, 4096)
                except BlockingIOError:
                    pass
            elif key.data[0] == "write":
                on_write(key.data[1])
            elif key.data[0] == "read":
                on_read(key.data[1])
        reap()
        finish_ready_tasks()


if __name__ == "__main__":
    if ROLE == "describe":
        describe()
    elif ROLE in ("main", "forker"):
        settings = json.loads(sys.argv[2])
        (main if ROLE == "main" else forker)(settings)
    else:
        sys.stderr.write("zygote.py is faaslab's Python executor: python-pool.ts starts it in its jail\n")
        sys.exit(2)
