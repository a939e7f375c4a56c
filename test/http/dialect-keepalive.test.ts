// Silences in the Responses and Messages streams (a long prefill) are filled with each protocol's own heartbeat
// event, not an SSE comment: Codex's idle timer resets only on events (a comment is no event), and the APIs
// themselves send `keepalive` (OpenAI Responses, with a sequence number) and `ping` (Anthropic Messages).
import { describe, expect, it } from "vitest";
import { ids } from "../helpers/fake-binding.ts";
import { testGateway } from "../helpers/gateway.ts";
import { settle } from "../helpers/manual-clock.ts";
import { StreamReader } from "../helpers/sse.ts";

/** Named events (`event: NAME` then `data: JSON`) and comments, in order. */
function frames(text: string) {
  return text.split("\n\n").slice(0, -1).map((block) => {
    if (block.startsWith(": ")) return { comment: block.slice(2) };
    const m = /^event: (.+)\ndata: (.+)$/.exec(block);
    if (!m) throw new Error(`malformed SSE frame ${JSON.stringify(block)}`);
    return { name: m[1], data: JSON.parse(m[2]) };
  });
}

const cases = [
  {
    dialect: "Responses",
    path: "/v1/responses",
    body: { model: "tiny-mistral3", input: "x", stream: true },
    beat: '"type":"keepalive"',
    last: "response.completed",
  },
  {
    dialect: "Messages",
    path: "/v1/messages",
    body: { model: "tiny-mistral3", max_tokens: 16, messages: [{ role: "user", content: "x" }], stream: true },
    beat: '"type":"ping"',
    last: "message_stop",
  },
];

describe.each(cases)("$dialect stream during a long prefill", ({ path, body, beat, last }) => {
  it("sends the protocol's heartbeat event, no comments, then the answer", async () => {
    const g = testGateway({ keepAliveMs: 1000 });
    g.fake.script = () => ({ choices: [{ ids: ids("ok", "</s>") }], manual: true });
    const pending = g.post(path, body);
    await settle();
    await g.clock.advance(1000); // no token within the keep-alive period: the stream opens
    const res = await pending;
    expect(res.status).toBe(200);
    const reader = new StreamReader(res.body!);
    const beats = (t: string) => t.split(beat).length - 1;
    const before = beats(await reader.until((t) => t.includes("\n\n")));
    await g.clock.advance(1000);
    await reader.until((t) => beats(t) === before + 1);
    await g.clock.advance(1000);
    await reader.until((t) => beats(t) === before + 2);
    g.fake.lastCall.release(10);
    const all = frames(await reader.rest());
    expect(all.filter((f) => "comment" in f)).toEqual([]);
    const events = all.map((f) => f.data);
    expect(all.every((f) => f.name === f.data.type)).toBe(true);
    expect(events.filter((e) => beat === `"type":"${e.type}"`).length).toBe(before + 2);
    expect(events.at(-1).type).toBe(last);
    // Responses: every event, heartbeats included, carries the next sequence number
    if (events[0].sequence_number !== undefined) {
      expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    }
  });
});
