// Runs the text layer under Deno (not only type-checks it):
//   npx deno run --allow-read tools/text/deno-smoke.ts
import { encodeChat, loadTokenizer, parseOutput } from "../../runtime/text/index.ts";

const tok = await loadTokenizer("test/fixtures/tiny-mistral3");
const enc = encodeChat(tok, { messages: [{ role: "user", content: "Hi" }], reasoning_effort: "high" });
const text = tok.decode(enc.ids, "show");
const want = '<s>[MODEL_SETTINGS]{"reasoning_effort": "high"}[/MODEL_SETTINGS][INST]Hi[/INST]';
if (text !== want) throw new Error(`deno smoke: got ${text}`);
const out = parseOutput(tok, [34, ...tok.encode("hm"), 35, ...tok.encode("ok"), 2]);
if (out.content !== "ok" || out.reasoning !== "hm") throw new Error("deno smoke: parse");
console.log("deno smoke ok:", text);
