// Where the runtime is: `?runtimeUrl=...` (the browser tests use it), else VITE_RUNTIME_URL at
// build time, else the example server's default address.
export const runtimeUrl =
  new URLSearchParams(window.location.search).get("runtimeUrl") ??
  import.meta.env.VITE_RUNTIME_URL ??
  "http://127.0.0.1:8000/api/copilotkit";
