// Run by entries.test.ts under Deno: the gateway app with the fake runtime behind serveDeno, called over a real
// socket; prints one JSON line with what it saw. Not a test file itself (Deno runs it, vitest does not).
import { createApp } from "../../edge/app.ts";
import { serveDeno } from "../../edge/deno.ts";
import { FakeBinding, ids } from "../helpers/fake-binding.ts";

const fake = new FakeBinding();
const open = createApp({ binding: () => fake, apiKeys: [], logError: () => {} });
const locked = createApp({ binding: () => fake, apiKeys: ["k"], logError: () => {} });
const ac = new AbortController();
let addr = { hostname: "", port: 0 };
const ready = new Promise<void>((resolve) => {
  serveDeno(open, { port: 0, signal: ac.signal, onListen: (a) => ((addr = a), resolve()) });
});
await ready;
const lockedServer = await new Promise<{ port: number }>((resolve) =>
  serveDeno(locked, { port: 0, hostname: "127.0.0.1", signal: ac.signal, onListen: (a) => resolve(a) })
);

const url = `http://127.0.0.1:${addr.port}/v1/chat/completions`;
const post = (body: unknown, base = url) =>
  fetch(base, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const messages = [{ role: "user", content: "Hi" }];

const one = await post({ messages });
const oneBody = await one.json();
const stream = await post({ messages, stream: true });
const frames = (await stream.text()).split("\n\n").filter(Boolean).map((f) => f.slice(6));
const content = frames.filter((f) => f !== "[DONE]").map((f) => JSON.parse(f).choices[0]?.delta.content ?? "").join("");
// a stream whose tokens arrive over time: Deno's legacy request.signal must not cut it once headers are out
fake.script = () => ({ choices: [{ ids: ids("slow and steady", "</s>") }], manual: true });
const slowRes = await post({ messages, stream: true });
const call = fake.lastCall;
const ticker = setInterval(() => call.release(1), 5);
const slowText = await slowRes.text();
clearInterval(ticker);
const slowContent = slowText.split("\n\n").filter((f) => f.startsWith("data: {")).map((f) =>
  JSON.parse(f.slice(6)).choices[0]?.delta.content ?? ""
).join("");
fake.script = () => ({ choices: [{ ids: ids("Hello there", "</s>") }] });
const bad = await post({ messages: [{ role: "robot", content: "x" }] });
const badBody = await bad.json();
const unauthorized = await post({ messages }, `http://127.0.0.1:${lockedServer.port}/v1/chat/completions`);
await unauthorized.body?.cancel();

console.log(JSON.stringify({
  hostname: addr.hostname,
  oneShot: { status: one.status, content: oneBody.choices[0].message.content },
  stream: { status: stream.status, last: frames.at(-1), content },
  slow: { content: slowContent, aborted: call.aborted },
  badRole: { status: bad.status, param: badBody.error.param },
  unauthorized: unauthorized.status,
}));
ac.abort();
