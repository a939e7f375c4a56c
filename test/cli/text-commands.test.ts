import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadTokenizer } from "../../runtime/text/load.ts";
import { buildPrompt, runTextFields } from "../../runtime/cli/run-support.ts";
import { tokenizeCommand, UsageError } from "../../runtime/cli/tokenize-command.ts";
import { ChatRequestError } from "../../runtime/text/errors.ts";
import { fixtureTekken } from "../text/helpers.ts";

const MODEL = "test/fixtures/tiny-mistral3";

describe("gust tokenize (library function)", () => {
  it("--text prints ids and text", async () => {
    const out = JSON.parse(await tokenizeCommand(["--model", MODEL, "--text", "Hi [INST]", "--json", "--bos"]));
    expect(out.text).toBe("<s>Hi [INST]");
    expect(out.ids[0]).toBe(1);
    expect(out.ids.slice(1)).toEqual(fixtureTekken().encode("Hi [INST]"));
  });

  it("--messages chat-encodes an OpenAI-style request body", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gust-tok-"));
    const f = join(dir, "req.json");
    writeFileSync(f, JSON.stringify({ messages: [{ role: "user", content: "Hi" }] }));
    const out = JSON.parse(await tokenizeCommand(["--model", MODEL, "--messages", f, "--json"]));
    expect(out.text).toBe('<s>[MODEL_SETTINGS]{"reasoning_effort": "none"}[/MODEL_SETTINGS][INST]Hi[/INST]');
    const high = JSON.parse(
      await tokenizeCommand(["--model", MODEL, "--messages", f, "--json", "--reasoning-effort", "high"]),
    );
    expect(high.text).toContain('{"reasoning_effort": "high"}');
    const plain = await tokenizeCommand(["--model", MODEL, "--messages", f]);
    expect(plain.split("\n")[1]).toBe(out.ids.join(","));
  });

  it("reports usage errors and request errors clearly", async () => {
    await expect(tokenizeCommand(["--text", "x"])).rejects.toThrow(UsageError);
    await expect(tokenizeCommand(["--model", MODEL])).rejects.toThrow(/exactly one of --messages FILE and --text STR/);
    await expect(tokenizeCommand(["--model", "/nonexistent", "--text", "x"])).rejects.toThrow(
      /no tokenizer in \/nonexistent: looked for tekken.json and tokenizer.json/,
    );
    const dir = mkdtempSync(join(tmpdir(), "gust-tok-"));
    const f = join(dir, "req.json");
    writeFileSync(f, JSON.stringify({ messages: [{ role: "user", content: "x" }], reasoning_effort: "max" }));
    await expect(tokenizeCommand(["--model", MODEL, "--messages", f, "--json"])).rejects.toThrow(ChatRequestError);
  });

  it("loads tokenizer.json models (with image settings from config.json)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gust-hf-"));
    copyFileSync("test/text/vectors/tiny-tokenizer.json", join(dir, "tokenizer.json"));
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({ spatial_merge_size: 2, vision_config: { patch_size: 14, image_size: 224 } }),
    );
    const tok = await loadTokenizer(dir);
    expect(tok.kind).toBe("hf");
    expect(tok.image).toEqual({ imagePatchSize: 14, maxImageSize: 224, spatialMergeSize: 2 });
    const out = JSON.parse(await tokenizeCommand(["--model", dir, "--text", "Hello", "--json"]));
    expect(out.ids).toEqual(fixtureTekken().encode("Hello"));
  });
});

describe("gust run support", () => {
  const tok = fixtureTekken();
  it("--prompt is one user message; --messages is a request body", () => {
    expect(tok.decode(buildPrompt(tok, { prompt: "Hi", reasoningEffort: "high" }).ids, "show")).toBe(
      '<s>[MODEL_SETTINGS]{"reasoning_effort": "high"}[/MODEL_SETTINGS][INST]Hi[/INST]',
    );
    const body = '{"messages": [{"role": "user", "content": "Hi"}], "reasoning_effort": "high"}';
    expect(buildPrompt(tok, { messagesJson: body }).ids).toEqual(
      buildPrompt(tok, { prompt: "Hi", reasoningEffort: "high" }).ids,
    );
    expect(buildPrompt(tok, { messagesJson: body, reasoningEffort: "none" }).settings).toEqual({
      reasoning_effort: "none",
    });
  });
  it("fills text, reasoning and tool_calls from generated ids", () => {
    const gen = [
      34,
      ...tok.encode("hm"),
      35,
      ...tok.encode("ok"),
      9,
      ...tok.encode("f"),
      32,
      ...tok.encode('{"a": 1}'),
      2,
    ];
    expect(runTextFields(tok, gen, { newId: () => "abcdefghi" })).toEqual({
      text: "ok",
      reasoning: "hm",
      tool_calls: [{ id: "abcdefghi", type: "function", function: { name: "f", arguments: '{"a": 1}' } }],
      tool_call_errors: [],
    });
  });
});
