// `npm run --silent gust -- run ... --json` as a user runs it: a real child process, real output.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fixtureDir, Golden, repoRoot } from "../helpers/fixtures.ts";

function gust(args: string[]) {
  const r = spawnSync("npm", ["run", "--silent", "gust", "--", ...args], { cwd: repoRoot, encoding: "utf8" });
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr.split("\n").filter((l) => !l.includes("npm warn")).join("\n"),
  };
}

describe("gust run", () => {
  it.each([
    ["tiny-mistral3", "text_long"],
    ["tiny-mistral3-fp8", "random_64"],
    ["tiny-mistral3-native", "text_short"],
    ["odd-bf16", "long"],
    ["odd-native-fp8", "short"],
  ])("prints the golden greedy tokens for %s (%s)", (name, c) => {
    const golden = new Golden(name);
    const ids = Array.from(golden.i32(`${c}.input_ids`));
    const r = gust([
      "run",
      "--model",
      fixtureDir(name),
      "--ids",
      ids.join(","),
      "--max-tokens",
      "16",
      "--temperature",
      "0",
      "--ignore-eos",
      "--kv-cache-dtype", // the goldens are the f32 reference; kv-dtype-golden.test.ts holds bf16 and FP8 to theirs
      "f32",
      "--json",
    ]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.prompt_ids).toEqual(ids);
    expect(out.ids).toEqual(Array.from(golden.i32(`${c}.greedy`)));
    expect(out.finish_reason).toBe("length");
    expect(out.usage).toMatchObject({
      prompt_tokens: ids.length,
      completion_tokens: 16,
      total_tokens: ids.length + 16,
    });
  });

  it.each([
    ["one_image", ["one_image.image0.png"]],
    ["two_images", ["two_images.image0.png", "two_images.image1.png"]],
  ])("prints the golden greedy tokens for tiny-mistral3 %s with --image files", (c, files) => {
    const golden = new Golden("tiny-mistral3");
    const ids = Array.from(golden.i32(`${c}.input_ids`));
    const images = files.flatMap((f) => ["--image", `${fixtureDir("tiny-mistral3")}/${f}`]);
    const r = gust([
      "run",
      "--model",
      fixtureDir("tiny-mistral3"),
      "--ids",
      ids.join(","),
      ...images,
      "--max-tokens",
      "16",
      "--temperature",
      "0",
      "--ignore-eos",
      "--kv-cache-dtype",
      "f32",
      "--json",
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).ids).toEqual(Array.from(golden.i32(`${c}.greedy`)));
    const missing = gust([
      "run",
      "--model",
      fixtureDir("tiny-mistral3"),
      "--ids",
      ids.join(","),
      "--max-tokens",
      "2",
      "--json",
    ]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/image/);
  });

  it("--draft (EAGLE) gives the same greedy tokens and reports spec stats", () => {
    const base = [
      "run",
      "--model",
      fixtureDir("tiny-mistral3-fp8"),
      "--ids",
      "1,3,77,78,79,4",
      "--max-tokens",
      "14",
      "--ignore-eos",
      "--json",
    ];
    const plain = JSON.parse(gust(base).stdout);
    const r = gust([...base, "--draft", fixtureDir("tiny-mistral3-eagle"), "--spec-tokens", "2"]);
    expect(r.status, r.stderr).toBe(0);
    const spec = JSON.parse(r.stdout);
    expect(spec.ids).toEqual(plain.ids);
    expect(plain.spec).toBeNull();
    expect(spec.spec.drafted).toBeGreaterThan(0);
    expect(spec.spec.target_steps).toBeGreaterThan(0);
    const bad = gust([...base, "--draft", fixtureDir("tiny-mistral3")]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/eagle_linear\.weight is missing|does not fit its target/);
  });

  it("--kv-cache-dtype fp8 and bf16 generate; another storage is refused with the choices", () => {
    const base = ["run", "--model", fixtureDir("tiny-mistral3"), "--ids", "1,3,77,78,79,4", "--max-tokens", "6"];
    for (const dtype of ["fp8", "bf16", "auto"]) {
      const r = gust([...base, "--ignore-eos", "--kv-cache-dtype", dtype, "--json"]);
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).ids).toHaveLength(6);
    }
    const bad = gust([...base, "--kv-cache-dtype", "f16"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--kv-cache-dtype must be one of auto, f32, bf16, fp8, got "f16"/);
  });

  it("--enforce-eager is accepted (CUDA only: the CPU runs the same steps) and its help says so", () => {
    const base = ["run", "--model", fixtureDir("tiny-mistral3"), "--ids", "1,3,77,78,79,4", "--max-tokens", "6"];
    const eager = gust([...base, "--ignore-eos", "--enforce-eager", "--json"]);
    const plain = gust([...base, "--ignore-eos", "--json"]);
    expect(eager.status, eager.stderr).toBe(0);
    expect(JSON.parse(eager.stdout).ids).toEqual(JSON.parse(plain.stdout).ids);
    const usage = gust(["run"]);
    expect(usage.stderr).toMatch(/--enforce-eager \(CUDA only/);
  });

  it("--prompt with an off-grid --image resizes it like mistral-common and lays out its grid", async () => {
    const { encodePng } = await import("../../runtime/vision/png.ts");
    const dir = mkdtempSync(join(tmpdir(), "gust-img-"));
    const rgb = Uint8Array.from({ length: 50 * 37 * 3 }, (_, i) => (i * 7) % 251);
    writeFileSync(join(dir, "odd.png"), encodePng({ rgb, width: 50, height: 37 }));
    const r = gust([
      "run",
      "--model",
      fixtureDir("tiny-mistral3"),
      "--prompt",
      "what is it",
      "--image",
      join(dir, "odd.png"),
      "--max-tokens",
      "3",
      "--json",
    ]);
    expect(r.status, r.stderr).toBe(0);
    const ids: number[] = JSON.parse(r.stdout).prompt_ids;
    // 50×37 → 2×2 cells of 28 px (56×56): [IMG][IMG][IMG_BREAK][IMG][IMG][IMG_END]
    expect(ids.slice(ids.indexOf(10), ids.indexOf(13) + 1)).toEqual([10, 10, 12, 10, 10, 13]);
  });

  it("is reproducible with a seed at temperature > 0", () => {
    const args = [
      "run",
      "--model",
      fixtureDir("tiny-mistral3-fp8"),
      "--ids",
      "1,3,50,60,4",
      "--max-tokens",
      "12",
      "--temperature",
      "1.0",
      "--seed",
      "42",
      "--ignore-eos",
      "--json",
    ];
    const a = JSON.parse(gust(args).stdout), b = JSON.parse(gust(args).stdout);
    expect(a.ids).toEqual(b.ids);
    const other = JSON.parse(gust([...args.slice(0, -3), "43", "--ignore-eos", "--json"]).stdout);
    expect(other.ids).not.toEqual(a.ids);
  });

  it("a reasoning budget of 5 closes the think block within the first 6 tokens", () => {
    // the prompt ends with [THINK] (id 34 in the fixture's tekken.json), so the model starts inside reasoning
    for (const prompt of ["1,3,40,50,4,34", "1,3,200,201,202,4,34", "1,36,98,37,3,77,4,34"]) {
      const r = gust([
        "run",
        "--model",
        fixtureDir("tiny-mistral3-fp8"),
        "--ids",
        prompt,
        "--reasoning-budget",
        "5",
        "--max-tokens",
        "20",
        "--temperature",
        "0",
        "--ignore-eos",
        "--json",
      ]);
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.ids.slice(0, 6)).toContain(35);
      expect(out.usage.reasoning_tokens).toBeLessThanOrEqual(5);
      expect(out.ids).toHaveLength(20); // the forced token counts toward max_tokens
    }
  });

  it("--response-format json_object holds the answer to JSON (a viable prefix when cut short) and refuses other formats", () => {
    for (const seed of ["1", "2"]) {
      const r = gust([
        "run",
        "--model",
        fixtureDir("tiny-mistral3-fp8"),
        "--prompt",
        "JSON please",
        "--response-format",
        "json_object",
        "--reasoning-budget",
        "0",
        "--max-tokens",
        "60",
        "--temperature",
        "1",
        "--seed",
        seed,
        "--json",
      ]);
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.text.trimStart().startsWith("{"), out.text).toBe(true);
      if (out.finish_reason === "stop") expect(() => JSON.parse(out.text)).not.toThrow();
      // unconstrained, the same seed does not write JSON
      const free = JSON.parse(
        gust([
          "run",
          "--model",
          fixtureDir("tiny-mistral3-fp8"),
          "--prompt",
          "JSON please",
          "--reasoning-budget",
          "0",
          "--max-tokens",
          "60",
          "--temperature",
          "1",
          "--seed",
          seed,
          "--json",
        ]).stdout,
      );
      expect(free.text.trimStart().startsWith("{")).toBe(false);
    }
    const bad = gust(["run", "--model", fixtureDir("tiny-mistral3-fp8"), "--prompt", "x", "--response-format", "yaml"]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("--response-format yaml: allowed text, json_object");
  });

  it("--n samples share the prompt and differ by seed; --prompt goes through the chat encoder", () => {
    const r = gust([
      "run",
      "--model",
      fixtureDir("tiny-mistral3-fp8"),
      "--prompt",
      "hello there",
      "--max-tokens",
      "6",
      "--n",
      "3",
      "--temperature",
      "1",
      "--seed",
      "9",
      "--json",
    ]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.prompt_ids[0]).toBe(1);
    expect(out.prompt_ids.at(-1)).toBe(4); // ends with [/INST]
    expect(out.samples).toHaveLength(3);
    expect(out.samples[0].ids).toEqual(out.ids);
    expect(new Set(out.samples.map((s: { ids: number[] }) => s.ids.join(","))).size).toBeGreaterThan(1);
    expect(out.samples[1].usage.cached_tokens).toBeGreaterThan(0);
  });

  it("gust tokenize prints ids and the decoded text with control tokens by name", () => {
    const r = gust(["tokenize", "--model", fixtureDir("tiny-mistral3-fp8"), "--text", "Hi [INST]", "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.ids).not.toContain(3); // typed "[INST]" is text, never the control token
    const dir = mkdtempSync(join(tmpdir(), "gust-tok-"));
    writeFileSync(
      join(dir, "m.json"),
      JSON.stringify({ messages: [{ role: "user", content: "Hi" }], reasoning_effort: "high" }),
    );
    const chat = JSON.parse(
      gust(["tokenize", "--model", fixtureDir("tiny-mistral3-fp8"), "--messages", join(dir, "m.json"), "--json"])
        .stdout,
    );
    expect(chat.text).toBe('<s>[MODEL_SETTINGS]{"reasoning_effort": "high"}[/MODEL_SETTINGS][INST]Hi[/INST]');
    expect(chat.ids[0]).toBe(1);
  });

  it.each([
    [["run", "--ids", "1,2"], 2, /--model DIR is required/],
    [
      ["run", "--model", "test/fixtures/tiny-mistral3", "--ids", "1,x"],
      2,
      /"x" is not a non-negative integer token id/,
    ],
    [
      ["run", "--model", "test/fixtures/tiny-mistral3", "--ids", "1,2", "--max-tokens=-3"],
      2,
      /--max-tokens must be an integer/,
    ],
    [["run", "--model", "test/fixtures/tiny-mistral3", "--ids", "1,2", "--bogus"], 2, /Unknown option '--bogus'/],
    [
      ["run", "--model", "test/fixtures/tiny-mistral3", "--ids", "5,512"],
      1,
      /Prompt token 1 is 512, outside the vocabulary \[0, 512\)/,
    ],
    [
      ["run", "--model", "test/fixtures/tiny-mistral3", "--ids", "5", "--max-tokens", "300"],
      1,
      /exceeds the context of 256; lower max_tokens to at most 255/,
    ],
    [["run", "--model", "test/fixtures/does-not-exist", "--ids", "5"], 1, /model directory does not exist/],
    [["frobnicate"], 2, /unknown command "frobnicate"/],
    [
      ["run", "--model", "test/fixtures/tiny-mistral3", "--ids", "1,2", "--top-p", "1.5"],
      2,
      /top_p must be in \(0, 1\]/,
    ],
    [
      ["run", "--model", "test/fixtures/tiny-mistral3", "--ids", "1,2", "--prompt", "x"],
      2,
      /exactly one of --ids, --prompt and --messages/,
    ],
  ])("gust %j fails with status %i and a clear message", (args, status, message) => {
    const r = gust(args as string[]);
    expect(r.status).toBe(status);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace
  });
});
