// The TypeScript side of examples/compare: the real @copilotkit/runtime 1.10.6 serving what
// examples/agents/copilotkit.toml serves to the react-v1 app's assistant page, written as a
// user of the TypeScript runtime writes it:
//   * chat through the runtime's OpenAIAdapter, with an `openai` client whose baseURL is
//     LLM_BASE_URL (the same fake OpenAI-compatible model our runtime talks to, or OpenAI);
//   * the backend action `lookup_order` (examples/agents/shop.py's orders).
//
//   node examples/compare/server.mjs     (env: PORT=4020 HOST=127.0.0.1 LLM_BASE_URL=
//                                          OPENAI_API_KEY= OPENAI_MODEL=gpt-4o-mini)
import http from "node:http";
import { CopilotRuntime, OpenAIAdapter, copilotRuntimeNodeHttpEndpoint } from "@copilotkit/runtime";
import OpenAI from "openai";

process.env.COPILOTKIT_TELEMETRY_DISABLED ??= "true";
process.env.DO_NOT_TRACK ??= "1";

const PORT = Number(process.env.PORT ?? 4020);
const HOST = process.env.HOST ?? "127.0.0.1";
const LLM_BASE_URL = process.env.LLM_BASE_URL || undefined;

const ORDERS = {
  1: { status: "shipped", delivery: "tomorrow" },
  7: { status: "delivered", delivery: "yesterday" },
  42: { status: "packing", delivery: "in three days" },
};

const runtime = new CopilotRuntime({
  actions: [
    {
      name: "lookup_order",
      description: "Look up an order by its number: status and delivery date",
      parameters: [{ name: "order_id", type: "number", description: "the order's number", required: true }],
      handler: async ({ order_id }) => {
        const order = ORDERS[order_id];
        return order ? { order_id, ...order } : { order_id, status: "unknown order" };
      },
    },
  ],
});

const endpoint = copilotRuntimeNodeHttpEndpoint({
  endpoint: "/api/copilotkit",
  runtime,
  serviceAdapter: new OpenAIAdapter({
    openai: new OpenAI({ baseURL: LLM_BASE_URL, apiKey: process.env.OPENAI_API_KEY || "offline" }),
    model: process.env.OPENAI_MODEL || "gpt-4o-mini",
  }),
  logLevel: "error",
});

const server = http.createServer((req, res) => {
  if (req.url === "/compare/info") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ runtime: "typescript", version: "1.10.6", llm: LLM_BASE_URL ?? "openai" }));
    return;
  }
  endpoint(req, res);
});
server.listen(PORT, HOST, () => {
  console.error(`TypeScript runtime 1.10.6: http://${HOST}:${PORT}/api/copilotkit (OpenAIAdapter -> ${LLM_BASE_URL ?? "OpenAI"})`);
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(0));
