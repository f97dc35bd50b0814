// Drives a runtime's AG-UI v2 endpoints with the real CopilotKitCore (@copilotkit/core 1.75.0),
// the way @copilotkit/react-core uses it, and prints what the client assembled as JSON.
//
// usage: node client.mjs '<scenario json>'
// scenario: {url, transport: "auto"|"rest"|"single", agent, threadId, steps: [...]}
// steps:    {op: "run", text}            add a user message and run the agent
//           {op: "connect"}              a fresh client (a page reload) connects to the thread
//           {op: "run-and-stop", text}   start a run and stop it after the first text chunk
//           {op: "resume", payload}      answer the interrupts the last run ended with (AG-UI
//                                        `resume` entries, status resolved, this payload)
//             `sameRunId: true`          ...with the interrupted run's runId, as react-core's
//                                        useInterrupt resolve() does
//           {op: "suggest", instructions}  dynamic suggestions (useConfigureSuggestions) for the agent
//           {op: "threads", limit?, pages?}  the thread list as useThreads shows it (the real thread
//                                          store over the core's runtime fetch), `pages` pages
//           {op: "threads-mutate", action: "rename"|"archive"|"delete", threadId, name?}
// scenario.headers (e.g. Authorization) go on every request, as <CopilotKit headers> does.
// Frontend tool "setColor" ({color: string}) is registered; its calls are recorded.
// CopilotKitCore only connects in a browser (it checks `typeof window`); this is Node.
globalThis.window ??= globalThis;
const { CopilotKitCore, ɵcreateThreadStore } = await import("@copilotkit/core");
const { z } = await import("zod");

const scenario = JSON.parse(process.argv[2]);
const out = { transport: null, agents: [], steps: [], errors: [], toolCalls: [] };

function makeCore() {
  const core = new CopilotKitCore({
    runtimeUrl: scenario.url,
    runtimeTransport: scenario.transport ?? "auto",
    headers: scenario.headers ?? {},
  });
  core.subscribe({
    onError: ({ code, error }) => out.errors.push({ code, message: String(error?.message ?? error) }),
  });
  core.addTool({
    name: "setColor",
    description: "Set the page color",
    parameters: z.object({ color: z.string() }),
    handler: async ({ color }) => {
      out.toolCalls.push({ color });
      return `color set to ${color}`;
    },
  });
  return core;
}

async function connected(core) {
  for (let i = 0; i < 500; i++) {
    if (core.runtimeConnectionStatus === "connected") return;
    if (core.runtimeConnectionStatus === "error") throw new Error("runtime connection failed");
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("runtime did not connect");
}

function agentOf(core) {
  const agent = core.getAgent(scenario.agent);
  if (!agent) throw new Error(`agent ${scenario.agent} not offered; agents: ${Object.keys(core.agents)}`);
  agent.threadId = scenario.threadId;
  return agent;
}

async function settle(agent) {
  for (let i = 0; i < 1000 && agent.isRunning; i++) await new Promise((r) => setTimeout(r, 10));
}

// The interrupts a run ended with (RUN_FINISHED outcome "interrupt"); a step's output has them.
let lastInterrupts = [];
let lastRunId;
async function runRecording(core, agent, params) {
  lastInterrupts = [];
  const sub = agent.subscribe({
    onRunFinishedEvent: ({ event }) => {
      lastRunId = event.runId;
      lastInterrupts = event.outcome?.type === "interrupt" ? event.outcome.interrupts : [];
    },
  });
  try {
    await core.runAgent({ agent, ...params });
    await settle(agent);
  } finally {
    sub.unsubscribe();
  }
  return lastInterrupts;
}

function snapshot(agent) {
  return { messages: JSON.parse(JSON.stringify(agent.messages)), state: agent.state };
}

async function threadsStep(core, step) {
  // What useThreads does: a thread store fed the runtime URL, the agent and the headers, with
  // the core's runtime fetch (which turns requests into resource/request envelopes in
  // single-route mode).
  const store = ɵcreateThreadStore({ fetch: core.ɵruntimeFetch ?? fetch });
  store.start();
  store.setContext({ runtimeUrl: scenario.url, agentId: scenario.agent, headers: scenario.headers ?? {},
                     limit: step.limit });
  const loaded = async () => {
    for (let i = 0; i < 1000; i++) {
      const state = store.getState();
      if (!state.isLoading && !state.isFetchingNextPage) return state;
      await new Promise((r) => setTimeout(r, 10));
    }
    return store.getState();
  };
  let state = await loaded();
  const result = { op: step.op };
  if (step.op === "threads-mutate") {
    try {
      if (step.action === "rename") await store.renameThread(step.threadId, step.name);
      else if (step.action === "archive") await store.archiveThread(step.threadId);
      else if (step.action === "delete") await store.deleteThread(step.threadId);
      result.ok = true;
    } catch (error) {
      result.ok = false;
      result.error = String(error?.message ?? error);
    }
  } else {
    for (let page = 1; page < (step.pages ?? 1) && state.nextCursor; page++) {
      const before = state.threads.length;
      store.fetchNextPage();
      for (let i = 0; i < 1000 && store.getState().threads.length === before && store.getState().nextCursor; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      state = await loaded();
    }
    result.threads = state.threads.map((t) => ({ id: t.id, name: t.name, archived: t.archived }));
    result.nextCursor = state.nextCursor ?? null;
    result.error = state.error ? String(state.error.message ?? state.error) : null;
  }
  store.stop();
  return result;
}

let core = makeCore();
await connected(core);
out.transport = core.runtimeTransport;
out.agents = Object.keys(core.agents).sort();

for (const step of scenario.steps ?? []) {
  try {
    if (step.op === "threads" || step.op === "threads-mutate") {
      out.steps.push(await threadsStep(core, step));
    } else if (step.op === "run") {
      const agent = agentOf(core);
      agent.addMessage({ id: crypto.randomUUID(), role: "user", content: step.text });
      const interrupts = await runRecording(core, agent, {});
      out.steps.push({ op: step.op, interrupts, ...snapshot(agent) });
    } else if (step.op === "resume") {
      const agent = agentOf(core);
      const runId = step.sameRunId ? { runId: lastRunId } : {};
      const resume = lastInterrupts.map((i) => ({ interruptId: i.id, status: "resolved", payload: step.payload }));
      const interrupts = await runRecording(core, agent, { resume, ...runId });
      out.steps.push({ op: step.op, answered: resume.length, interrupts, ...snapshot(agent) });
    } else if (step.op === "connect") {
      core = makeCore();
      await connected(core);
      const agent = agentOf(core);
      await core.connectAgent({ agent });
      await settle(agent);
      out.steps.push({ op: step.op, ...snapshot(agent) });
    } else if (step.op === "suggest") {
      const agent = agentOf(core);
      const finished = new Promise((resolve) => {
        const sub = core.subscribe({
          onSuggestionsFinishedLoading: () => { sub.unsubscribe(); resolve(); },
        });
      });
      core.addSuggestionsConfig({ instructions: step.instructions ?? "Suggest what to ask next",
        minSuggestions: 1, maxSuggestions: 3, available: "always" });
      core.reloadSuggestions(agent.agentId);
      await Promise.race([finished, new Promise((r) => setTimeout(r, 15000))]);
      out.steps.push({ op: step.op, suggestions: core.getSuggestions(agent.agentId).suggestions,
        ...snapshot(agent) });
    } else if (step.op === "run-and-stop") {
      const agent = agentOf(core);
      agent.addMessage({ id: crypto.randomUUID(), role: "user", content: step.text });
      let stopped = false;
      const sub = agent.subscribe({
        onTextMessageContentEvent: () => {
          if (!stopped) { stopped = true; core.stopAgent({ agent }); }
        },
      });
      await core.runAgent({ agent });
      await settle(agent);
      sub.unsubscribe();
      out.steps.push({ op: step.op, stopped, ...snapshot(agent) });
    }
  } catch (error) {
    out.steps.push({ op: step.op, exception: String(error?.message ?? error) });
  }
}
console.log(JSON.stringify(out));
process.exit(0);
