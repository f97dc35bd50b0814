// The TypeScript side of `bench/run.py --mode v2`: the real @copilotkit/runtime 1.75 (v2), its
// InMemoryAgentRunner (the default runner) and one scripted AG-UI agent, no LLM, no sleeps.
//
//   PORT=4013 HOST=127.0.0.1 TOKENS=200 node bench/ts-v2/bench_server.mjs
//
// * `POST /api/copilotkit/agent/bench/run` (multi-route) and `POST /api/copilotkit` with the
//   single-route envelope `{method: "agent/run", params: {agentId: "bench"}, body}` both reach
//   the runtime's fetch handler (`createCopilotRuntimeHandler`, one per mode) through
//   @hono/node-server's request listener, the usual Node deployment.
// * BenchAgent (an `AbstractAgent`) streams one text message of TOKENS chunks ("Bench reply.",
//   " token1", ...), the same as the Python bench provider, with `setImmediate` between chunks
//   (as an agent reading an LLM socket would).
// * A last user message starting with "hold" makes a run send its first chunk and then wait
//   until `POST /bench/release` (the scale test). `GET /bench/info` says which runtime this is.
// * With AGENT_URL set (bench/agent_paths.py), the agent "bench" is an @ag-ui/client HttpAgent
//   pointing at a Python LangGraph agent server at that URL (ag-ui-langgraph's FastAPI
//   endpoint, bench/agent_sdk/server.py) instead of BenchAgent.
import http from "node:http";
import { randomUUID } from "node:crypto";
import { getRequestListener } from "@hono/node-server";
import { AbstractAgent, EventType, HttpAgent } from "@ag-ui/client";
import { CopilotRuntime, InMemoryAgentRunner, createCopilotRuntimeHandler } from "@copilotkit/runtime/v2";
import { Observable } from "rxjs";

process.env.COPILOTKIT_TELEMETRY_DISABLED ??= "true";
process.env.DO_NOT_TRACK ??= "1";

const PORT = Number(process.env.PORT ?? 4013);
const HOST = process.env.HOST ?? "127.0.0.1";
const TOKENS = Number(process.env.TOKENS ?? 200);
const BASE = "/api/copilotkit";
const AGENT_URL = process.env.AGENT_URL || "";

const chunkText = (i) => (i === 0 ? "Bench reply." : ` token${i}`);
const yieldToLoop = () => new Promise((resolve) => setImmediate(resolve));

let held = 0;
let release;
let released = new Promise((resolve) => (release = resolve));

function lastUserText(messages) {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m.role === "user" && typeof m.content === "string") return m.content;
  }
  return "";
}

class BenchAgent extends AbstractAgent {
  run(input) {
    return new Observable((subscriber) => {
      let cancelled = false;
      (async () => {
        const base = { threadId: input.threadId, runId: input.runId };
        subscriber.next({ type: EventType.RUN_STARTED, ...base });
        const messageId = randomUUID();
        const hold = lastUserText(input.messages ?? []).startsWith("hold");
        subscriber.next({ type: EventType.TEXT_MESSAGE_START, messageId, role: "assistant" });
        for (let i = 0; i < TOKENS && !cancelled; i++) {
          subscriber.next({ type: EventType.TEXT_MESSAGE_CONTENT, messageId, delta: chunkText(i) });
          if (hold && i === 0) {
            held += 1;
            try {
              await released;
            } finally {
              held -= 1;
            }
          }
          await yieldToLoop();
        }
        subscriber.next({ type: EventType.TEXT_MESSAGE_END, messageId });
        subscriber.next({ type: EventType.RUN_FINISHED, ...base });
        subscriber.complete();
      })().catch((err) => subscriber.error(err));
      return () => {
        cancelled = true;
      };
    });
  }

  clone() {
    return new BenchAgent({ agentId: this.agentId });
  }
}

const runtime = new CopilotRuntime({
  agents: { bench: AGENT_URL ? new HttpAgent({ url: AGENT_URL }) : new BenchAgent({ agentId: "bench" }) },
  runner: new InMemoryAgentRunner(),
});
const multi = getRequestListener(createCopilotRuntimeHandler({ runtime, basePath: BASE }));
const single = getRequestListener(
  createCopilotRuntimeHandler({ runtime, basePath: BASE, mode: "single-route" }));

const server = http.createServer((req, res) => {
  if (req.url === "/bench/release" && req.method === "POST") {
    const wasHeld = held;
    release();
    released = new Promise((resolve) => (release = resolve));
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ released: wasHeld }));
    return;
  }
  if (req.url === "/bench/info") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ runtime: "typescript", version: "1.75.0", tokens: TOKENS, held,
                             pid: process.pid, agentUrl: AGENT_URL || null }));
    return;
  }
  if (req.method === "POST" && (req.url === BASE || req.url === `${BASE}/`)) {
    single(req, res);
    return;
  }
  multi(req, res);
});
server.keepAliveTimeout = 65_000;
server.maxConnections = 100_000;
server.listen({ port: PORT, host: HOST, backlog: 4096 }, () => {
  console.error(`bench ts v2 server: http://${HOST}:${PORT}${BASE} (pid ${process.pid}, tokens ${TOKENS})`);
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(0));
