// A raw node:http load client, kept only to compare its own CPU cost with bench/loadclient.py
// (the client the benchmark uses). Same request bytes, same cheap completeness check.
//
//   node bench/ts/load.mjs URL CONCURRENCY TOTAL [TOKENS]
import http from "node:http";
import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";

const [url, cArg, totalArg, tokensArg] = process.argv.slice(2);
const C = Number(cArg ?? 50);
const TOTAL = Number(totalArg ?? 2000);
const TOKENS = Number(tokensArg ?? 200);
const body = readFileSync(new URL("../fixtures/chat-request.json", import.meta.url), "utf8");
const threadId = JSON.parse(body).variables.data.threadId;
const [before, after] = body.split(threadId);
const target = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: C });
const headers = {
  connection: "keep-alive",
  accept: "application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed",
  "x-copilotkit-runtime-client-gql-version": "1.10.6",
  "content-type": "application/json",
  "accept-language": "*",
  "sec-fetch-mode": "cors",
  "user-agent": "node",
  "accept-encoding": "gzip, deflate",
};

function one() {
  return new Promise((resolve) => {
    const payload = before + randomUUID() + after;
    const t0 = performance.now();
    let ttfb = 0;
    const req = http.request(
      { host: target.hostname, port: target.port, path: target.pathname, method: "POST", agent,
        headers: { ...headers, "content-length": Buffer.byteLength(payload) } },
      (res) => {
        const parts = [];
        res.on("data", (d) => { if (!ttfb) ttfb = performance.now() - t0; parts.push(d); });
        res.on("end", () => {
          const text = Buffer.concat(parts).toString("latin1");
          const ok = res.statusCode === 200 && text.includes('{"hasNext":false}') &&
            text.split(" token").length - 1 === TOKENS - 1;
          resolve({ ok, ttfb, total: performance.now() - t0 });
        });
      });
    req.on("error", () => resolve({ ok: false }));
    req.end(payload);
  });
}

let next = 0;
const results = [];
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await Promise.all(Array.from({ length: C }, async () => {
  while (next++ < TOTAL) results.push(await one());
}));
const wall = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const ok = results.filter((r) => r.ok).length;
console.log(JSON.stringify({ client: "node", concurrency: C, total: TOTAL, ok, wallSeconds: wall,
  requestsPerSecond: ok / wall, loadClientCpuSeconds: (cpu.user + cpu.system) / 1e6,
  loadClientCpuMsPerRequest: (cpu.user + cpu.system) / 1e3 / TOTAL }));
process.exit(0);
