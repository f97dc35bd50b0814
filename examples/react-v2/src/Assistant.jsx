import { useState } from "react";
import { CopilotKit, useCopilotAction, useCopilotReadable } from "@copilotkit/react-core";
import { CopilotChat, useCopilotChatSuggestions } from "@copilotkit/react-ui";
import { NoteTextarea } from "./Note.jsx";
import { runtimeUrl } from "./runtimeUrl.js";

// The LLM chat agent (the runtime's default agent): no `agent` prop.
export function Assistant() {
  return (
    <CopilotKit runtimeUrl={runtimeUrl} showDevConsole={false}>
      <AssistantPage />
    </CopilotKit>
  );
}

function AssistantPage() {
  const [color, setColor] = useState("white");
  const [note, setNote] = useState("");

  // What the model knows about the app (part of its system prompt).
  useCopilotReadable({ description: "The customer's name", value: "Ada Lovelace" });

  // A frontend action: the model calls it, the browser runs it.
  useCopilotAction({
    name: "setThemeColor",
    description: "Set the page's background color",
    parameters: [{ name: "color", type: "string", description: "a CSS color", required: true }],
    handler: ({ color }) => {
      setColor(color);
      return `the background is now ${color}`;
    },
  });

  useCopilotChatSuggestions({
    instructions: "Suggest questions a customer asks about their order.",
    minSuggestions: 1,
    maxSuggestions: 2,
  });

  return (
    <main className="page" data-testid="assistant-page" style={{ background: color }}>
      <section className="side">
        <p>
          Theme color: <span data-testid="theme-color">{color}</span>
        </p>
        <label htmlFor="note">A note to the shop (press Tab to accept a completion)</label>
        <NoteTextarea value={note} onValueChange={setNote} />
      </section>
      <CopilotChat
        className="chat"
        labels={{ title: "Assistant", initial: "Hi! Ask me about your order." }}
        RenderSuggestionsList={SuggestionButtons}
      />
    </main>
  );
}

// react-ui 1.74's own suggestion buttons call useCopilotChatInternal(), whose mount effect
// connects the agent; the core ends every connect by reloading the suggestions, which re-renders
// the buttons, which connect again: a /suggest and a /connect every few milliseconds (against
// the TypeScript runtime too; plugins/copilotkit-provider-openai/README.md). Plain buttons here
// (react-ui's classes and test ids) break the loop.
function SuggestionButtons({ suggestions, onSuggestionClick, isLoading }) {
  return (
    <div className="suggestions">
      {suggestions.map((suggestion, index) => (
        <button
          key={index}
          type="button"
          data-test-id="suggestion"
          className={`suggestion${suggestion.isLoading || isLoading ? " loading" : ""}`}
          disabled={Boolean(suggestion.isLoading || isLoading)}
          onClick={() => onSuggestionClick(suggestion.message)}
        >
          {suggestion.title}
        </button>
      ))}
    </div>
  );
}
