"""The correctness suite as an MPCSFaaS user writes it: the standard library (urllib) and dill,
serialize/deserialize exactly as the course's clients do, against a faaslab at $FAAS_URL.

    FAAS_URL=http://127.0.0.1:8000 python3 test/python/mpcs_client_suite.py

Functions defined here travel by value (they are in __main__); those of
mpcs_project/tests/test_webservice.py travel by reference, so the cluster must have that
project directory on its --python-path.
"""
import codecs
import concurrent.futures
import json
import os
import random
import sys
import time
import unittest
import urllib.error
import urllib.request

import dill

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "mpcs_project"))
from tests import test_webservice  # noqa: E402  (pickled by reference)

BASE = os.environ.get("FAAS_URL", "http://127.0.0.1:8000")
SEED = int(os.environ.get("FAAS_SEED", "7"))


def serialize(obj) -> str:
    return codecs.encode(dill.dumps(obj), "base64").decode()


def deserialize(text: str):
    return dill.loads(codecs.decode(text.encode(), "base64"))


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def register(fn, name=None):
    status, body = call("POST", "/register_function", {"name": name or fn.__name__, "payload": serialize(fn)})
    assert status in (200, 201), (status, body)
    return body["function_id"]


def execute(function_id, *args, **kwargs):
    status, body = call("POST", "/execute_function", {"function_id": function_id, "payload": serialize((args, kwargs))})
    assert status in (200, 201), (status, body)
    return body["task_id"]


def wait_result(task_id, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = call("GET", "/result/" + task_id)
        assert status == 200, (status, body)
        if body["status"] in ("COMPLETED", "FAILED"):
            return body["status"], deserialize(body["result"])
        time.sleep(0.01)
    raise AssertionError("task %s did not finish within %s s" % (task_id, timeout))


def double(x):
    return x * 2


def sleepy(seconds):
    import time as clock
    clock.sleep(seconds)
    return seconds


def raise_value_error(message):
    raise ValueError(message)


def factorial(n):
    return 1 if n <= 1 else n * factorial(n - 1)


def fibonacci(n):
    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)


def total(numbers):
    return sum(numbers)


def describe(a, b=10, *rest, scale=1, **extra):
    return {"a": a, "b": b, "rest": list(rest), "scale": scale, "extra": extra}


def spin_forever():
    while True:
        pass


class Registration(unittest.TestCase):
    def test_valid_function(self):
        self.assertRegex(register(double), r"^[0-9a-f-]{36}$")

    def test_lambda_and_closure(self):
        k = 5
        self.assertEqual(wait_result(execute(register(lambda x: x + k, "add_k"), 1)), ("COMPLETED", 6))

    def test_invalid_payload(self):
        for payload in ("payload", "", serialize(1)[:-8]):
            status, body = call("POST", "/register_function", {"name": "bad", "payload": payload})
            self.assertEqual(status, 400, (payload, body))

    def test_missing_fields(self):
        status, _ = call("POST", "/register_function", {"name": "f"})
        self.assertEqual(status, 400)


class Execution(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.double = register(double)

    def test_double(self):
        self.assertEqual(wait_result(execute(self.double, 21)), ("COMPLETED", 42))

    def test_unknown_function(self):
        status, body = call("POST", "/execute_function", {"function_id": "00000000-0000-4000-8000-000000000000", "payload": serialize(((1,), {}))})
        self.assertEqual(status, 404, body)

    def test_bad_arguments(self):
        status, body = call("POST", "/execute_function", {"function_id": self.double, "payload": "payload"})
        self.assertEqual(status, 400, body)

    def test_unknown_task(self):
        self.assertEqual(call("GET", "/status/00000000-0000-4000-8000-000000000000")[0], 404)
        self.assertEqual(call("GET", "/result/00000000-0000-4000-8000-000000000000")[0], 404)

    def test_value_error_comes_back_as_value_error(self):
        status, error = wait_result(execute(register(raise_value_error), "bad input"))
        self.assertEqual(status, "FAILED")
        self.assertIsInstance(error, ValueError)
        self.assertEqual(str(error), "bad input")

    def test_status_moves_forward(self):
        task_id = execute(register(sleepy), 1.0)
        seen = []
        while True:
            status = call("GET", "/status/" + task_id)[1]["status"]
            if not seen or seen[-1] != status:
                seen.append(status)
            if status in ("COMPLETED", "FAILED"):
                break
            time.sleep(0.02)
        self.assertEqual(seen[-1], "COMPLETED")
        self.assertIn("RUNNING", seen)
        order = ["QUEUED", "RUNNING", "COMPLETED"]
        self.assertEqual(seen, sorted(seen, key=order.index))
        self.assertEqual(wait_result(task_id), ("COMPLETED", 1.0))

    def test_recursion(self):
        self.assertEqual(wait_result(execute(register(factorial), 30)), ("COMPLETED", factorial(30)))
        self.assertEqual(wait_result(execute(register(fibonacci), 20)), ("COMPLETED", 6765))

    def test_large_arguments(self):
        self.assertEqual(wait_result(execute(register(total), list(range(10000)))), ("COMPLETED", sum(range(10000))))

    def test_kwargs(self):
        function_id = register(describe)
        self.assertEqual(wait_result(execute(function_id, 1, 2, 3, 4, scale=3, colour="red")),
                         ("COMPLETED", {"a": 1, "b": 2, "rest": [3, 4], "scale": 3, "extra": {"colour": "red"}}))

    def test_by_reference(self):
        self.assertIn(b"tests.test_webservice", dill.dumps(test_webservice.double))
        self.assertEqual(wait_result(execute(register(test_webservice.double), 4)), ("COMPLETED", 8))
        self.assertEqual(wait_result(execute(register(test_webservice.greet), "faaslab", punctuation="?")), ("COMPLETED", "hello faaslab?"))

    def test_deadline(self):
        status, body = call("POST", "/execute_function", {"function_id": register(spin_forever), "payload": serialize(((), {})), "deadline_ms": 500})
        self.assertEqual(status, 201, body)
        status, error = wait_result(body["task_id"])
        self.assertEqual(status, "FAILED")
        self.assertIsInstance(error, TimeoutError)
        self.assertTrue(str(error).startswith("DeadlineExceeded"), str(error))

    def test_random_concurrent_tasks(self):
        rng = random.Random(SEED)
        functions = {"double": (register(double), double), "factorial": (register(factorial), factorial),
                     "fibonacci": (register(fibonacci), fibonacci), "total": (register(total), total)}
        cases = []
        for _ in range(200):
            name = rng.choice(sorted(functions))
            arg = rng.randint(0, 15) if name != "total" else [rng.randint(-100, 100) for _ in range(rng.randint(0, 50))]
            cases.append((name, arg))

        def run(case):
            name, arg = case
            function_id, local = functions[name]
            return wait_result(execute(function_id, arg)), ("COMPLETED", local(arg))

        with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
            for got, expected in pool.map(run, cases):
                self.assertEqual(got, expected)


if __name__ == "__main__":
    unittest.main(verbosity=2)
