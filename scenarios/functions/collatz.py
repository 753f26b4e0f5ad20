# A user function from a file, in Python: the number of Collatz steps from n down to 1, and the peak reached.
def collatz(n):
    steps = 0
    peak = n
    x = n
    while x != 1:
        x = x // 2 if x % 2 == 0 else 3 * x + 1
        if x > peak:
            peak = x
        steps += 1
    return {"n": n, "steps": steps, "peak": peak}
