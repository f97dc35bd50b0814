import { useCallback } from "react";
import { useAgent, useCopilotKit } from "@copilotkit/react-core/v2";
import { BaseCopilotTextarea } from "@copilotkit/react-textarea";

// react-textarea 1.74's <CopilotTextarea> sends no request any more (its completion function
// reads an empty response; its insertion/editing function warns that the backend was removed
// in 1.50). Its public <BaseCopilotTextarea> takes the functions instead: these run the
// runtime's `completer` agent (examples/agents/copilotkit.toml) through react-core/v2's useAgent.
const PURPOSE = "A note from a customer to the shop about their order.";

function useCompleter() {
  const { agent } = useAgent({ agentId: "completer" });
  const { copilotkit } = useCopilotKit();
  return useCallback(async (prompt, abortSignal) => {
    agent.setMessages([{ id: crypto.randomUUID(), role: "user", content: prompt }]);
    const abort = () => agent.abortRun();
    abortSignal.addEventListener("abort", abort);
    try {
      await copilotkit.runAgent({ agent });
    } finally {
      abortSignal.removeEventListener("abort", abort);
    }
    if (abortSignal.aborted) return "";
    const answer = agent.messages.filter((m) => m.role === "assistant").at(-1);
    return typeof answer?.content === "string" ? answer.content : "";
  }, [agent, copilotkit]);
}

export function NoteTextarea({ value, onValueChange }) {
  const complete = useCompleter();
  const autosuggestionsFunction = useCallback(
    ({ textBeforeCursor, textAfterCursor }, abortSignal) =>
      complete(`${PURPOSE}\nText before the cursor:\n${textBeforeCursor}\nText after the cursor:\n${textAfterCursor}`,
               abortSignal),
    [complete],
  );
  // The hovering editor (Cmd-K): the same agent, asked to do what the user typed.
  const insertionOrEditingFunction = useCallback(
    async (editorState, prompt, _documents, abortSignal) => {
      const text = await complete(
        `${PURPOSE}\nDo this: ${prompt}\nSelected text:\n${editorState.selectedText}\n` +
          `Text before:\n${editorState.textBeforeCursor}\nText after:\n${editorState.textAfterCursor}`,
        abortSignal,
      );
      return new ReadableStream({ start(controller) { controller.enqueue(text); controller.close(); } });
    },
    [complete],
  );
  return (
    <BaseCopilotTextarea
      id="note"
      className="note"
      value={value}
      onValueChange={onValueChange}
      placeholder="Write a note..."
      baseAutosuggestionsConfig={{
        textareaPurpose: PURPOSE,
        debounceTime: 150,
        apiConfig: { autosuggestionsFunction, insertionOrEditingFunction },
      }}
    />
  );
}
