// The TypeScript side of bench/bench_remote.py: the real @copilotkit/runtime 1.75 (v2), one
// agent "remote" = an @ag-ui/client HttpAgent pointing at the benchmark's remote AG-UI server,
// served by the runtime's fetch handler on @hono/node-server (the usual Node deployment).
//
//   PORT=4011 REMOTE_URL=http://127.0.0.1:4012/agent node bench/ts-v2/server.mjs
import { serve } from "@hono/node-server";
import { HttpAgent } from "@ag-ui/client";
import { CopilotRuntime, createCopilotRuntimeHandler } from "@copilotkit/runtime/v2";

process.env.COPILOTKIT_TELEMETRY_DISABLED ??= "true";
process.env.DO_NOT_TRACK ??= "1";

const PORT = Number(process.env.PORT ?? 4011);
const runtime = new CopilotRuntime({
  agents: { remote: new HttpAgent({ url: process.env.REMOTE_URL }) },
});
const handler = createCopilotRuntimeHandler({ runtime, basePath: "/api/copilotkit" });
serve({ fetch: handler, port: PORT, hostname: "127.0.0.1" });
console.log(`ts runtime 1.75 on ${PORT}`);
