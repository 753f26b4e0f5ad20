// The README's SDK example, as plain JavaScript (ESM): run it against a running `faas up`.
//
//   npx faas up                # in one terminal
//   node examples/sdk.mjs      # in another (after `npm ci`, which builds dist/)
//
// The API comes from FAAS_API_URL (default http://127.0.0.1:8000), its token, if it requires
// one, from FAAS_API_TOKEN. Inside this repository `import "faaslab"` resolves to the package
// itself (its package.json "exports"); in another project, to the installed faaslab.
import { FaaSClient } from "faaslab";

const client = new FaaSClient({
  baseUrl: process.env.FAAS_API_URL || "http://127.0.0.1:8000",
  token: process.env.FAAS_API_TOKEN || undefined,
});
try {
  const mul = await client.register((a, b) => a * b, "mul");
  const taskId = await client.execute(mul, 6, 7);
  console.log(await client.status(taskId));                 // QUEUED, RUNNING, COMPLETED or FAILED
  console.log((await client.result(taskId, { wait: 5 })).value); // 42
  console.log(await client.run((n) => n ** 3n, 7n));        // 343n: register, execute, wait
} finally {
  await client.close();
}
