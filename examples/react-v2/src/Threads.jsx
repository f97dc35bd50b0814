import { useCallback, useEffect, useRef, useState } from "react";
import { CopilotKit } from "@copilotkit/react-core";
import { useThreads } from "@copilotkit/react-core/v2";
import { CopilotChat } from "@copilotkit/react-ui";
import { runtimeUrl } from "./runtimeUrl.js";

// The signed-in user's token (`?token=...`; the browser tests sign two users in this way): every
// request to the runtime carries it, and the runtime shows each user their own threads only.
const token = new URLSearchParams(window.location.search).get("token");
const headers = token ? { Authorization: `Bearer ${token}` } : undefined;

// The threads drawer: the user's threads of the assistant agent (the runtime's v2 thread
// endpoints, through react-core's useThreads), next to a chat that adds to them.
export function Threads() {
  // useThreads 1.74 reads the list when it mounts; it refreshes by itself only through CopilotKit
  // Intelligence's websocket (`intelligence.wsUrl` in /info), which a self-hosted runtime (this
  // one or the TypeScript one) has none of. So the list is fetched again when a run ends.
  const [runsEnded, setRunsEnded] = useState(0);
  const running = useRef(false);
  const onInProgress = useCallback((inProgress) => {
    if (running.current && !inProgress) setRunsEnded((n) => n + 1);
    running.current = inProgress;
  }, []);
  return (
    <CopilotKit runtimeUrl={runtimeUrl} headers={headers} agent="assistant" showDevConsole={false}>
      <main className="page" data-testid="threads-page">
        <ThreadList runsEnded={runsEnded} />
        <CopilotChat
          className="chat"
          labels={{ title: "Assistant", initial: "Start a thread." }}
          onInProgress={onInProgress}
        />
      </main>
    </CopilotKit>
  );
}

function ThreadList({ runsEnded }) {
  const { threads, isLoading, error, refetchThreads } = useThreads({ agentId: "assistant" });
  useEffect(() => {
    if (runsEnded > 0) refetchThreads();
  }, [runsEnded, refetchThreads]);
  return (
    <aside className="side">
      <h2>Your threads</h2>
      {error ? <p data-testid="threads-error">{String(error.message ?? error)}</p> : null}
      <ul data-testid="threads" data-loading={String(isLoading)}>
        {threads.map((thread) => (
          <li key={thread.id} data-testid="thread" data-thread-id={thread.id}>
            {thread.name ?? thread.id}
          </li>
        ))}
      </ul>
    </aside>
  );
}
