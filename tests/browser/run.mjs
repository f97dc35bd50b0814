// Drives Debian's chromium (playwright-core, never a downloaded browser) through one scenario
// of an example app, and prints one JSON line: {ok, error, consoleErrors, failedRequests, data}.
//
// Input on stdin: {"scenario": NAME, "page": URL, "screenshot": PATH, "chromium": PATH}; with
// "frames": [NAME, ...] (examples/compare's side-by-side page) the scenario runs in each named
// iframe in turn, and data is {NAME: {...scenario data, transcript}} (the chat as it is shown).
// Console errors, page errors and failed requests (network failures, HTTP >= 400) are
// collected and reported; the pytest side fails on them. A failure leaves a screenshot.
import { chromium } from "playwright-core";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { scenarios, transcript } from "./scenarios.mjs";

const input = JSON.parse(fs.readFileSync(0, "utf8"));
const scenario = scenarios[input.scenario];
if (!scenario) {
  console.log(JSON.stringify({ ok: false, error: `unknown scenario ${input.scenario}` }));
  process.exit(0);
}

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "ck-browser-"));
const flags = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: input.chromium ?? "/usr/bin/chromium",
  headless: true,
  args: flags,
  viewport: { width: 1280, height: 800 },
});
const consoleErrors = [];
const failedRequests = [];
const aborted = [];
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(input.timeout ?? 20000);
page.on("console", (msg) => {
  if (msg.type() === "error") consoleErrors.push(msg.text());
});
page.on("pageerror", (err) => consoleErrors.push(`page error: ${err.message}`));
page.on("requestfailed", (req) => {
  const reason = req.failure()?.errorText ?? "failed";
  // net::ERR_ABORTED is the page cancelling its own request (react-core aborts a suggestions
  // request when a message is sent, the textarea aborts a completion on the next key, the stop
  // button aborts the run): recorded, not a failure. A server that fails a stream shows up as
  // ERR_CONNECTION_RESET, ERR_EMPTY_RESPONSE, ERR_INCOMPLETE_CHUNKED_ENCODING... instead.
  if (/ERR_ABORTED/.test(reason)) {
    aborted.push(`${req.method()} ${req.url()}`);
    return;
  }
  failedRequests.push(`${req.method()} ${req.url()}: ${reason}`);
});
// Requests still open when the scenario ends (suggestions fetched after a reply, say) are
// awaited, so that closing the browser does not abort them.
const pending = new Set();
page.on("request", (req) => pending.add(req));
// How many requests each path got (the pytest side checks that nothing loops).
const requestCounts = {};
page.on("request", (req) => {
  const key = `${req.method()} ${new URL(req.url()).pathname}`;
  requestCounts[key] = (requestCounts[key] ?? 0) + 1;
});
page.on("requestfinished", (req) => pending.delete(req));
page.on("requestfailed", (req) => pending.delete(req));
async function settled(limitMs = 15000) {
  const end = Date.now() + limitMs;
  let quietSince = Date.now();
  while (Date.now() < end) {
    if (pending.size) quietSince = Date.now();
    else if (Date.now() - quietSince >= 500) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  failedRequests.push(`still open when the scenario ended: ${[...pending].map((r) => r.url()).join(", ")}`);
}
page.on("response", (res) => {
  if (res.status() >= 400) failedRequests.push(`${res.request().method()} ${res.url()}: HTTP ${res.status()}`);
});

let result;
try {
  await page.goto(input.page);
  let data;
  if (input.frames) {
    data = {};
    for (const name of input.frames) {
      const frame = page.frame({ name });
      if (!frame) throw new Error(`no iframe named ${name} on ${input.page}`);
      data[name] = { ...(await scenario(frame, input)), transcript: await transcript(frame) };
    }
  } else {
    data = await scenario(page, input);
  }
  await settled();
  result = { ok: true, data: data ?? null };
} catch (err) {
  result = { ok: false, error: String(err?.stack ?? err) };
  if (input.screenshot) {
    try {
      fs.mkdirSync(path.dirname(input.screenshot), { recursive: true });
      await page.screenshot({ path: input.screenshot, fullPage: true });
      result.screenshot = input.screenshot;
    } catch (shotErr) {
      result.screenshotError = String(shotErr);
    }
  }
}
result.consoleErrors = consoleErrors;
result.failedRequests = failedRequests;
result.aborted = aborted;
result.requestCounts = requestCounts;
await context.close();
fs.rmSync(userDataDir, { recursive: true, force: true });
console.log(JSON.stringify(result));
