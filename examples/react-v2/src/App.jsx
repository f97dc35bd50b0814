import { useEffect, useState } from "react";
import { Assistant } from "./Assistant.jsx";
import { Planner } from "./Planner.jsx";
import { Threads } from "./Threads.jsx";

// Three pages: #assistant (the LLM chat agent), #planner (LangGraph), #threads (the user's
// threads of the assistant, with a chat).
const PAGES = { "#planner": "planner", "#threads": "threads" };

function usePage() {
  const read = () => PAGES[window.location.hash] ?? "assistant";
  const [page, setPage] = useState(read);
  useEffect(() => {
    const onHash = () => setPage(read());
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);
  return page;
}

export function App() {
  const page = usePage();
  return (
    <div className="app">
      <nav>
        <strong>react-core 1.74</strong>
        <a href="#assistant" aria-current={page === "assistant"}>Assistant (LLM)</a>
        <a href="#planner" aria-current={page === "planner"}>Planner (LangGraph)</a>
        <a href="#threads" aria-current={page === "threads"}>Threads</a>
      </nav>
      {page === "planner" ? <Planner /> : page === "threads" ? <Threads /> : <Assistant />}
    </div>
  );
}
