#!/usr/bin/env node
// Drives a CopilotKit runtime with the real @copilotkit/runtime-client-gql 1.10.6 client, the way
// @copilotkit/react-core 1.10.6 calls it, and prints what the client assembled as JSON.
//
// Usage: node client.mjs < scenario.json     (or: node client.mjs '<scenario json>')
//
// Scenario:
//   {
//     "url": "http://127.0.0.1:8000/api/copilotkit",
//     "headers": {...},                        // optional, like <CopilotKit headers>
//     "steps": [
//       {"op": "hello"},
//       {"op": "availableAgents"},
//       {"op": "loadAgentState", "threadId": "...", "agentName": "..."},
//       {"op": "generate",
//        "threadId": "...",                    // default: a new UUID
//        "agent": "name",                      // -> agentSession {agentName} (react-core agent lock)
//        "agentSession": {...},                // or the full agentSession
//        "system": "You are ...",              // system message sent first (null: none)
//        "messages": [                         // the conversation, oldest first
//          {"role": "user", "content": "hi"},  // text (role: user | assistant | system)
//          {"type": "action", "id": "...", "name": "...", "arguments": {...}, "parentMessageId": "..."},
//          {"type": "result", "id": "...", "actionExecutionId": "...", "actionName": "...", "result": "..."}
//        ],
//        "actions": [{"name", "description", "parameters": <JSON schema> | "jsonSchema": "<string>",
//                     "available": "enabled"}],
//        "agentStates": [{"agentName", "state": {...}, "config": {...}?}],
//        "metaEvents": [{"name", "value", "response"}],   // sent as react-core composes them
//        "cloud": {...}, "forwardedParameters": {...}, "context": [...], "properties": {...},
//        "raw": {...}                          // optional: merged into `data` last
//       }
//     ]
//   }
//
// Output: {"results": [<one object per step>]}; a generate result holds the final merged
// response (status, messages with their statuses and joined content/arguments, metaEvents), the
// number of updates the stream delivered, and react-core's view of the messages.

import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";

// The CommonJS build: its ESM build imports `untruncate-json` in a way Node's ESM loader
// resolves to the module object instead of the function (bundlers, as used by React apps, do
// not), which would make every partial-arguments parse fail.
const require = createRequire(import.meta.url);
const {
  ActionExecutionMessage,
  CopilotRuntimeClient,
  ResultMessage,
  TextMessage,
  convertGqlOutputToMessages,
  convertMessagesToGqlInput,
  filterAdjacentAgentStateMessages,
  filterAgentStateMessages,
} = require("@copilotkit/runtime-client-gql");

async function readScenario() {
  if (process.argv[2]) return JSON.parse(process.argv[2]);
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

function newClient(scenario) {
  // A fresh client per step: urql's cache would answer a repeated query without a request.
  const warnings = [];
  const gqlErrors = [];
  const client = new CopilotRuntimeClient({
    url: scenario.url,
    headers: scenario.headers || {},
    handleGQLWarning: (warning) => warnings.push(String(warning)),
    handleGQLErrors: (error) => gqlErrors.push(describeError(error)),
  });
  return { client, warnings, gqlErrors };
}

function describeError(error) {
  if (!error) return null;
  return {
    message: error.message,
    name: error.name,
    graphQLErrors: (error.graphQLErrors || []).map((e) => ({ message: e.message, extensions: e.extensions || null })),
    networkError: error.networkError ? String(error.networkError.message || error.networkError) : null,
  };
}

function buildMessages(step) {
  const messages = [];
  const system = step.system === undefined ? "You are a helpful assistant." : step.system;
  if (system !== null) messages.push(new TextMessage({ content: system, role: "system" }));
  for (const m of step.messages || []) {
    if (m.type === "action") {
      messages.push(new ActionExecutionMessage({ id: m.id, name: m.name, arguments: m.arguments ?? {},
        parentMessageId: m.parentMessageId }));
    } else if (m.type === "result") {
      messages.push(new ResultMessage({ id: m.id, actionExecutionId: m.actionExecutionId,
        actionName: m.actionName, result: ResultMessage.encodeResult(m.result) }));
    } else {
      messages.push(new TextMessage({ id: m.id, role: m.role || "user", content: m.content,
        parentMessageId: m.parentMessageId }));
    }
  }
  return messages;
}

function composeMetaEvents(events) {
  // react-core's composeAndFlushMetaEventsInput: only answered LangGraph interrupts are sent.
  return (events || []).filter((e) => e && e.response !== undefined && e.response !== null).map((e) => ({
    name: e.name || "LangGraphInterruptEvent",
    value: typeof e.value === "string" ? e.value : JSON.stringify(e.value),
    response: typeof e.response === "string" ? e.response : JSON.stringify(e.response),
  }));
}

function buildData(step) {
  const agentSession = step.agentSession || (step.agent ? { agentName: step.agent } : null);
  const data = {
    frontend: {
      actions: (step.actions || []).map((a) => ({
        name: a.name,
        description: a.description || "",
        jsonSchema: a.jsonSchema ?? JSON.stringify(a.parameters || { type: "object", properties: {} }),
        available: a.available || "enabled",
      })),
      url: step.frontendUrl || "http://localhost:3000/tests",
    },
    threadId: step.threadId || randomUUID(),
    runId: step.runId ?? null,
    extensions: step.extensions || {},
    metaEvents: composeMetaEvents(step.metaEvents),
    messages: convertMessagesToGqlInput(filterAgentStateMessages(buildMessages(step))),
    ...(step.cloud ? { cloud: step.cloud } : {}),
    metadata: { requestType: "Chat" },
    ...(agentSession ? { agentSession } : {}),
    agentStates: (step.agentStates || []).map((s) => ({
      agentName: s.agentName,
      state: JSON.stringify(s.state ?? {}),
      ...(s.config !== undefined ? { config: JSON.stringify(s.config) } : {}),
    })),
    forwardedParameters: step.forwardedParameters || {},
    context: step.context || [],
    ...(step.raw || {}),
  };
  return data;
}

function summarizeMessage(m) {
  const out = { __typename: m.__typename, id: m.id, status: m.status ?? null };
  if (m.createdAt !== undefined) out.createdAt = m.createdAt;
  if (m.__typename === "TextMessageOutput") {
    Object.assign(out, { role: m.role, content: (m.content || []).join(""), contentChunks: (m.content || []).length,
      parentMessageId: m.parentMessageId ?? null });
  } else if (m.__typename === "ActionExecutionMessageOutput") {
    Object.assign(out, { name: m.name, arguments: (m.arguments || []).join(""),
      argumentsChunks: (m.arguments || []).length, parentMessageId: m.parentMessageId ?? null });
  } else if (m.__typename === "ResultMessageOutput") {
    Object.assign(out, { result: m.result, actionExecutionId: m.actionExecutionId, actionName: m.actionName });
  } else if (m.__typename === "AgentStateMessageOutput") {
    let state = m.state;
    try { state = JSON.parse(m.state); } catch { /* keep the string */ }
    Object.assign(out, { agentName: m.agentName, nodeName: m.nodeName, threadId: m.threadId, runId: m.runId,
      role: m.role, active: m.active, running: m.running, state });
  }
  return out;
}

function reactCoreView(messages, metaEvents) {
  // What react-core 1.10.6 does with every update: interrupt messages join the list, adjacent
  // state messages collapse, then the client's message classes.
  let raw = [...messages];
  for (const ev of metaEvents || []) {
    if (ev && ev.name === "CopilotKitLangGraphInterruptEvent" && ev.data) raw = [...raw, ...ev.data.messages];
  }
  return convertGqlOutputToMessages(filterAdjacentAgentStateMessages(raw)).map((m) => {
    const view = { type: m.type, id: m.id, status: m.status?.code ?? null };
    if (m.type === "TextMessage") Object.assign(view, { role: m.role, content: m.content });
    if (m.type === "ActionExecutionMessage") Object.assign(view, { name: m.name, arguments: m.arguments });
    if (m.type === "ResultMessage") Object.assign(view, { result: m.result, actionExecutionId: m.actionExecutionId });
    if (m.type === "AgentStateMessage") Object.assign(view, { agentName: m.agentName, nodeName: m.nodeName,
      running: m.running, active: m.active, state: m.state });
    return view;
  });
}

async function generate(scenario, step) {
  const { client, warnings, gqlErrors } = newClient(scenario);
  const data = buildData(step);
  const started = Date.now();
  const stream = client.asStream(client.generateCopilotResponse({ data, properties: step.properties || {} }));
  const reader = stream.getReader();
  let last = null;
  let updates = 0;
  let firstUpdateMs = null;
  const progress = [];
  let error = null;
  let closed = false;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) { closed = true; break; }
      updates += 1;
      if (firstUpdateMs === null) firstUpdateMs = Date.now() - started;
      last = value;
      const msgs = value?.generateCopilotResponse?.messages || [];
      progress.push(msgs.reduce((n, m) => n + (m.content?.length || 0) + (m.arguments?.length || 0), 0));
    }
  } catch (e) {
    error = describeError(e);
  }
  const response = last?.generateCopilotResponse ?? null;
  const messages = response?.messages || [];
  const metaEvents = response?.metaEvents || [];
  return {
    op: "generate",
    requestThreadId: data.threadId,
    closed,
    error,
    gqlErrors,
    warnings,
    updates,
    progress,
    firstUpdateMs,
    totalMs: Date.now() - started,
    threadId: response?.threadId ?? null,
    runId: response?.runId ?? null,
    extensions: response?.extensions ?? null,
    status: response?.status ?? null,
    messages: messages.map(summarizeMessage),
    metaEvents,
    reactCore: response ? reactCoreView(messages, metaEvents) : [],
    raw: last,
  };
}

async function query(scenario, step) {
  const { client, gqlErrors } = newClient(scenario);
  let result;
  if (step.op === "hello") {
    // The client has no method for it: send it through the client's own urql instance.
    result = await client.client.query("query hello { hello }", {}).toPromise();
  } else if (step.op === "availableAgents") {
    result = await client.availableAgents().toPromise();
  } else if (step.op === "loadAgentState") {
    result = await client.loadAgentState({ threadId: step.threadId, agentName: step.agentName }).toPromise();
  } else {
    throw new Error(`unknown op ${step.op}`);
  }
  const out = { op: step.op, data: result.data ?? null, error: describeError(result.error), gqlErrors };
  if (step.op === "loadAgentState" && result.data?.loadAgentState) {
    const s = result.data.loadAgentState;
    out.state = JSON.parse(s.state);
    out.messages = JSON.parse(s.messages);
  }
  return out;
}

async function main() {
  const scenario = await readScenario();
  const results = [];
  for (const step of scenario.steps || []) {
    results.push(step.op === "generate" ? await generate(scenario, step) : await query(scenario, step));
  }
  process.stdout.write(JSON.stringify({ results }) + "\n");
}

main().catch((e) => {
  process.stderr.write(`client.mjs failed: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
