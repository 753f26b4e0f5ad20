"""A module as an MPCSFaaS project's test suite has it: dill pickles these functions by
reference (tests.test_webservice.double), so a worker finds them only on its --python-path."""


def double(x):
    return x * 2


def greet(name, punctuation="!"):
    return "hello " + name + punctuation
