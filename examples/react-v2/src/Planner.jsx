import { CopilotKit, useCoAgent, useLangGraphInterrupt } from "@copilotkit/react-core";
import { CopilotChat } from "@copilotkit/react-ui";
import { runtimeUrl } from "./runtimeUrl.js";

// The LangGraph agent: shared state (useCoAgent) and a human in the loop (interrupt).
export function Planner() {
  return (
    <CopilotKit runtimeUrl={runtimeUrl} agent="planner" showDevConsole={false}>
      <PlannerPage />
    </CopilotKit>
  );
}

// The interrupt's value. react-core 1.74 prefers AG-UI's standard interrupt (RUN_FINISHED with
// outcome "interrupt") over the on_interrupt event, and hands that Interrupt object over as
// event.value: the LangGraph interrupt() value is in its metadata.value.
function interruptValue(event) {
  let value = event?.value;
  if (value && typeof value === "object" && value.reason === "langgraph_interrupt") {
    value = value.metadata?.value ?? value.message;
  }
  if (typeof value !== "string") return value ?? {};
  try {
    return JSON.parse(value);
  } catch {
    return { question: value };
  }
}

function PlannerPage() {
  const { state } = useCoAgent({ name: "planner", initialState: { steps: [], status: "idle" } });

  useLangGraphInterrupt({
    render: ({ event, resolve }) => (
      <div className="interrupt" data-testid="interrupt">
        <p>{interruptValue(event).question ?? "Continue?"}</p>
        <button onClick={() => resolve("yes")}>Approve</button>
        <button onClick={() => resolve("no")}>Cancel</button>
      </div>
    ),
  });

  return (
    <main className="page" data-testid="planner-page">
      <section className="side">
        <h2>Plan</h2>
        <p>
          Status: <span data-testid="plan-status">{state?.status ?? "idle"}</span>
        </p>
        <ol data-testid="plan-steps">
          {(state?.steps ?? []).map((step, i) => (
            <li key={i}>{step}</li>
          ))}
        </ol>
      </section>
      <CopilotChat
        className="chat"
        labels={{ title: "Planner", initial: "Give me a task: parts separated by commas." }}
      />
    </main>
  );
}
