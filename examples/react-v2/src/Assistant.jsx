import { useState } from "react";
import { CopilotKit, useCopilotAction, useCopilotReadable } from "@copilotkit/react-core";
import { CopilotChat } from "@copilotkit/react-ui";
import { CopilotTextarea } from "@copilotkit/react-textarea";
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

  // No chat suggestions here: on react-core 1.74, useCopilotChatSuggestions beside react-ui's
  // CopilotChat reloads suggestions and reconnects the agent in a loop (a /suggest and a
  // /connect request every few milliseconds, against this runtime; see examples/README.md).

  return (
    <main className="page" data-testid="assistant-page" style={{ background: color }}>
      <section className="side">
        <p>
          Theme color: <span data-testid="theme-color">{color}</span>
        </p>
        <label htmlFor="note">A note to the shop (press Tab to accept a completion)</label>
        <CopilotTextarea
          id="note"
          className="note"
          value={note}
          onValueChange={setNote}
          placeholder="Write a note..."
          autosuggestionsConfig={{
            textareaPurpose: "A note from a customer to the shop about their order.",
            chatApiConfigs: {},
            debounceTime: 150,
          }}
        />
      </section>
      <CopilotChat
        className="chat"
        labels={{ title: "Assistant", initial: "Hi! Ask me about your order." }}
      />
    </main>
  );
}
