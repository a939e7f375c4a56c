// Tool-call arguments held to the tool's schema for non-strict tools too (the default, --tool-call-schemas all), on
// gust-mini, greedy, through the real openai SDK: one runtime, two gateways over it (the default, and one with
// --tool-call-schemas strict, the behaviour before). gust-mini was trained on its own tools, so asked for the weather it
// writes {"city": "Paris"} whatever the offered schema says; held to the schema, it writes what the schema allows.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultModelDir } from "../../runtime/config/default-model.ts";
import { type Started, startGust, tempSocket } from "../helpers/processes.ts";

const socket = tempSocket("tool-schemas");
const MODEL = "gust-mini";
const QUESTION = "What is the weather in Paris?";
const NO_ARGUMENTS = { type: "object", properties: {}, required: [], additionalProperties: false };
const LOCATION_UNIT = {
  type: "object",
  properties: { location: { type: "string" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } },
  required: ["location", "unit"],
  additionalProperties: false,
};
/** `not` is a keyword gust's grammar compiler refuses: the arguments fall back to any JSON object. */
const UNCOMPILABLE = { type: "object", properties: { city: { type: "string" } }, not: { required: ["x"] } };

const urlOf = (gateway: Started) => /gateway on (http:\/\/[^\s]+)/.exec(gateway.output())![1];
let runtime: Started | undefined;
const gateways: Started[] = [];
let held: OpenAI, strictOnly: OpenAI;

beforeAll(async () => {
  runtime = await startGust(
    ["runtime", "--model", defaultModelDir, "--socket", socket, "--num-blocks", "256", "--threads", "1"],
    /serving/,
    120_000,
  );
  gateways.push(await startGust(["serve", "--runtime", socket, "--port", "0"], /gateway on/));
  gateways.push(
    await startGust(["serve", "--runtime", socket, "--port", "0", "--tool-call-schemas", "strict"], /gateway on/),
  );
  [held, strictOnly] = gateways.map((g) => new OpenAI({ baseURL: `${urlOf(g)}/v1`, apiKey: "unused" }));
}, 150_000);
afterAll(async () => {
  for (const g of gateways) await g.stop();
  await runtime?.stop("SIGKILL");
});

/** The one call gust-mini makes to a non-strict get_weather with these parameters, its arguments parsed. */
async function callWith(client: OpenAI, parameters: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: "user", content: QUESTION }],
    tools: [{ type: "function", function: { name: "get_weather", description: "Current weather", parameters } }],
    temperature: 0,
    max_tokens: 120,
  });
  const choice = res.choices[0];
  expect(choice.finish_reason, JSON.stringify(choice.message)).toBe("tool_calls");
  const call = choice.message.tool_calls![0];
  expect(call.type === "function" && call.function.name).toBe("get_weather");
  return JSON.parse(call.type === "function" ? call.function.arguments : "null");
}

describe("non-strict tools' arguments follow their schema on gust-mini", () => {
  it(
    "a schema without properties gets {}; with --tool-call-schemas strict the model's own keys come back",
    async () => {
      expect(await callWith(held, NO_ARGUMENTS)).toEqual({});
      expect(Object.keys(await callWith(strictOnly, NO_ARGUMENTS))).toEqual(["city"]);
    },
    60_000,
  );

  it("required keys come back, exactly those, in valid JSON, with the enum held", async () => {
    const args = await callWith(held, LOCATION_UNIT);
    expect(Object.keys(args).sort()).toEqual(["location", "unit"]);
    expect(typeof args.location).toBe("string");
    expect(["celsius", "fahrenheit"]).toContain(args.unit);
  }, 60_000);

  it("a schema the grammar compiler refuses falls back to any JSON object and still answers", async () => {
    expect(await callWith(held, UNCOMPILABLE)).toEqual({ city: "Paris" });
  }, 60_000);

  it("the Responses API holds a non-strict function tool the same way (Codex's get_goal)", async () => {
    const res = await held.responses.create({
      model: MODEL,
      input: QUESTION,
      tools: [{ type: "function", name: "get_weather", parameters: NO_ARGUMENTS, strict: false }],
      temperature: 0,
      max_output_tokens: 120,
    });
    const call = res.output.find((o) => o.type === "function_call");
    expect(call, JSON.stringify(res.output)).toBeDefined();
    expect(JSON.parse(call!.type === "function_call" ? call!.arguments : "null")).toEqual({});
  }, 60_000);
});
