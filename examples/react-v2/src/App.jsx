import { useEffect, useState } from "react";
import { Assistant } from "./Assistant.jsx";
import { Planner } from "./Planner.jsx";

// Two pages, one agent each: #assistant (the LLM chat agent) and #planner (LangGraph).
function usePage() {
  const read = () => (window.location.hash === "#planner" ? "planner" : "assistant");
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
      </nav>
      {page === "planner" ? <Planner /> : <Assistant />}
    </div>
  );
}
