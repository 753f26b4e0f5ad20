// A user function from a file: the number of Collatz steps from n down to 1, and the peak reached.
function collatz(n) {
  let steps = 0;
  let peak = n;
  for (let x = n; x !== 1; steps++) {
    x = x % 2 === 0 ? x / 2 : 3 * x + 1;
    if (x > peak) peak = x;
  }
  return { n, steps, peak };
}
