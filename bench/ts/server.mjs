// The TypeScript side of the benchmark: the real @copilotkit/runtime 1.10.6 (graphql-yoga) on
// raw node:http, serving a scripted reply with no LLM and no sleeps.
//
//   node bench/ts/server.mjs            (env: PORT=4010 HOST=127.0.0.1 TOKENS=200 STATE_EVERY=0
//                                             LLM_BASE_URL= AGENT_URL=)
//
// * With AGENT_URL set (bench/agent_paths.py), the agent "bench" is the runtime's own
//   LangGraphHttpAgent pointing at a Python LangGraph agent server at that URL (the copilotkit
//   SDK's LangGraphAGUIAgent, bench/agent_sdk/server.py), as CopilotKit's 1.10 docs deploy a
//   self-hosted LangGraph agent.
// * With LLM_BASE_URL set (the LLM path), a chat request goes to the runtime's own
//   OpenAIAdapter with an `openai` client (4.104.0, the version 1.10.6 resolves) whose baseURL
//   is that (fake) OpenAI-compatible server, as a user of the TypeScript runtime writes it.
// * A chat request (no agentSession) goes to BenchAdapter, a service adapter that streams one
//   text message of TOKENS chunks, yielding to the event loop between chunks (as a real
//   adapter reading an LLM socket would) but never sleeping.
// * An agent request (agentSession.agentName = "bench") goes to BenchAgent, an AG-UI agent
//   streaming the same text plus a STATE_SNAPSHOT every STATE_EVERY chunks (0 = none).
// * A last user message starting with "hold" makes either one send its first chunk and then
//   wait until `POST /bench/release` (the scale test: many open, idle streams).
// * `GET /bench/info` says which runtime this is and how many streams are held.
//
// The chunk texts are the same as the Python bench provider's (bench/copilotkit_bench).
import http from "node:http";
import { randomUUID } from "node:crypto";
import { CopilotRuntime, LangGraphHttpAgent, OpenAIAdapter, copilotRuntimeNodeHttpEndpoint } from "@copilotkit/runtime";
import OpenAI from "openai";
import { AbstractAgent, EventType } from "@ag-ui/client";
import { Observable } from "rxjs";

process.env.COPILOTKIT_TELEMETRY_DISABLED ??= "true";
process.env.DO_NOT_TRACK ??= "1";

const PORT = Number(process.env.PORT ?? 4010);
const HOST = process.env.HOST ?? "127.0.0.1";
const TOKENS = Number(process.env.TOKENS ?? 200);
const STATE_EVERY = Number(process.env.STATE_EVERY ?? 0);
const LLM_BASE_URL = process.env.LLM_BASE_URL || "";
const AGENT_URL = process.env.AGENT_URL || "";

const chunkText = (i) => (i === 0 ? "Bench reply." : ` token${i}`);
const yieldToLoop = () => new Promise((resolve) => setImmediate(resolve));

// Streams told to hold wait on this promise; /bench/release resolves it and makes a new one.
let held = 0;
let release;
let released = new Promise((resolve) => (release = resolve));
async function holdIfAsked(text) {
  if (!text.startsWith("hold")) return;
  held += 1;
  try {
    await released;
  } finally {
    held -= 1;
  }
}

function lastUserText(messages) {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m.role === "user" && typeof m.content === "string") return m.content;
  }
  return "";
}

class BenchAdapter {
  async process(request) {
    const { eventSource } = request;
    const text = lastUserText(request.messages ?? []);
    eventSource.stream(async (eventStream$) => {
      const messageId = randomUUID();
      eventStream$.sendTextMessageStart({ messageId });
      for (let i = 0; i < TOKENS; i++) {
        eventStream$.sendTextMessageContent({ messageId, content: chunkText(i) });
        if (i === 0) await holdIfAsked(text);
        await yieldToLoop();
      }
      eventStream$.sendTextMessageEnd({ messageId });
      eventStream$.complete();
    });
    return { threadId: request.threadId || randomUUID() };
  }
}

class BenchAgent extends AbstractAgent {
  run(input) {
    return new Observable((subscriber) => {
      let cancelled = false;
      (async () => {
        const base = { threadId: input.threadId, runId: input.runId };
        subscriber.next({ type: EventType.RUN_STARTED, ...base });
        const state = { chunks: 0 };
        if (STATE_EVERY > 0) subscriber.next({ type: EventType.STATE_SNAPSHOT, snapshot: { ...state } });
        const messageId = randomUUID();
        const text = lastUserText(input.messages ?? []);
        subscriber.next({ type: EventType.TEXT_MESSAGE_START, messageId, role: "assistant" });
        for (let i = 0; i < TOKENS && !cancelled; i++) {
          subscriber.next({ type: EventType.TEXT_MESSAGE_CONTENT, messageId, delta: chunkText(i) });
          if (STATE_EVERY > 0 && (i + 1) % STATE_EVERY === 0) {
            state.chunks = i + 1;
            subscriber.next({ type: EventType.STATE_SNAPSHOT, snapshot: { ...state } });
          }
          if (i === 0) await holdIfAsked(text);
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
}

const runtime = new CopilotRuntime({
  agents: {
    bench: AGENT_URL ? new LangGraphHttpAgent({ url: AGENT_URL }) : new BenchAgent({ agentId: "bench" }),
  },
});
const yoga = copilotRuntimeNodeHttpEndpoint({
  endpoint: "/api/copilotkit",
  runtime,
  serviceAdapter: LLM_BASE_URL
    ? new OpenAIAdapter({
        openai: new OpenAI({ baseURL: LLM_BASE_URL, apiKey: "bench-fake-key" }),
        model: "gpt-4o-mini",
      })
    : new BenchAdapter(),
  logLevel: "error",
});

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
    res.end(JSON.stringify({ runtime: "typescript", version: "1.10.6", tokens: TOKENS,
                             stateEvery: STATE_EVERY, held, pid: process.pid,
                             llmUrl: LLM_BASE_URL || null, agentUrl: AGENT_URL || null }));
    return;
  }
  yoga(req, res);
});
server.keepAliveTimeout = 65_000;
server.maxConnections = 100_000;
server.listen(PORT, HOST, () => {
  console.error(`bench ts server: http://${HOST}:${PORT}/api/copilotkit (pid ${process.pid}, tokens ${TOKENS}` +
                (LLM_BASE_URL ? `, OpenAIAdapter -> ${LLM_BASE_URL})` : ")"));
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(0));
