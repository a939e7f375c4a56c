// Real coding-agent CLIs, pinned in test/agents-cli/package.json, run non-interactively against `gust dev` on
// gust-mini: `codex exec` (Responses API), `claude -p` (Messages API), `opencode run` (chat completions). Each runs
// offline in a scratch HOME with a timeout and a closed stdin, and must finish its turn (exit 0, an answer printed).
// Each CLI keeps its default system prompt and tools (20k, 26k and 16k tokens, in gust-mini's 64k context); only the
// answer's length is capped where the CLI has a knob for it (Claude Code, opencode), so a turn ends on a CPU.
// GUST_AGENT_CLIS_TRIMMED=1 trims the prompts instead (docs/agents.md lists how), for a quick run.
// Not part of `npm test` unless asked for: install the CLIs with `npm run agents:install`, then
//   GUST_AGENT_CLIS=1 npx bun --bun vitest run test/agents-cli
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/fixtures.ts";
import { freePort, type Started, startGust } from "../helpers/processes.ts";

const bin = (name: string) => join(repoRoot, "test", "agents-cli", "node_modules", ".bin", name);
const wanted = process.env.GUST_AGENT_CLIS === "1";
const installed = ["codex", "claude", "opencode"].every((b) => existsSync(bin(b)));
const why = !wanted ? "set GUST_AGENT_CLIS=1 to run them" : "the CLIs are not installed: npm run agents:install";
if (!wanted || !installed) console.log(`agent CLI tests skipped: ${why}`);

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const MODEL = "gust-mini";
const PROMPT = "What is 23 + 19?";
const trimmed = process.env.GUST_AGENT_CLIS_TRIMMED === "1";
/** A default prompt's first prefill takes minutes on a 2-core CPU; GUST_AGENT_CLIS_TURN_MS overrides. */
const TURN_MS = Number(process.env.GUST_AGENT_CLIS_TURN_MS ?? (trimmed ? 240_000 : 1_200_000));
/** Answer tokens for the CLIs that can cap them (prompts and tools stay the CLI's own). */
const MAX_OUTPUT = 512;
let dev: Started | undefined;
let contextLength = 0;

/** Runs a CLI to its end with stdin closed; resolves with its exit status and output. */
function run(cmd: string, args: string[], cwd: string, env: Record<string, string>) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(cmd, args, {
      cwd,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), TURN_MS - 10_000);
    child.once("exit", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** A scratch HOME and working folder for one CLI. */
function scratch(name: string) {
  const home = mkdtempSync(join(tmpdir(), `gust-${name}-`));
  const work = join(home, "work");
  mkdirSync(work);
  return { home, work };
}

describe.skipIf(!wanted || !installed)("agent CLIs against gust dev", () => {
  beforeAll(async () => {
    const noFunctions = mkdtempSync(join(tmpdir(), "gust-cli-e2e-"));
    // greedy: the CLIs send no temperature, and gust-mini sampled at 1 wanders off (docs/agents.md)
    const args = ["dev", "--functions", noFunctions, "--port", String(port), "--default-temperature", "0"];
    dev = await startGust(args, /ready on/, 90_000);
    const models = await (await fetch(`${base}/v1/models`)).json() as { data: { max_model_len: number }[] };
    contextLength = models.data[0].max_model_len;
  }, 100_000);
  afterAll(async () => {
    await dev?.stop("SIGINT");
  });

  it("codex exec completes a turn over the Responses API", async () => {
    const { home, work } = scratch("codex");
    writeFileSync(
      join(home, "config.toml"),
      [
        `model = "${MODEL}"`,
        'model_provider = "gust"',
        "check_for_update_on_startup = false",
        "[model_providers.gust]",
        'name = "gust"',
        `base_url = "${base}/v1"`,
        'wire_api = "responses"',
        'env_key = "GUST_API_KEY"',
        "request_max_retries = 0",
        "stream_max_retries = 0",
        "[analytics]",
        "enabled = false",
      ].join("\n"),
    );
    writeFileSync(join(home, "instructions.md"), "You are a helpful assistant.");
    const trimming = [
      "-c",
      `model_instructions_file=${join(home, "instructions.md")}`,
      "-c",
      'web_search="disabled"',
      ...["include_permissions_instructions", "include_environment_context", "include_apps_instructions"]
        .flatMap((k) => ["-c", `${k}=false`]),
      "-c",
      "skills.include_instructions=false",
      ...["multi_agent", "goals", "view_image", "unified_exec", "shell_tool", "skill_search", "apps", "tool_suggest"]
        .flatMap((f) => ["--disable", f]),
    ];
    const args = ["exec", "--json", "--skip-git-repo-check", ...(trimmed ? trimming : []), PROMPT];
    const r = await run(bin("codex"), args, work, {
      HOME: home,
      CODEX_HOME: home,
      GUST_API_KEY: "unused",
    });
    const events = r.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { type: string; item?: any });
    expect(events.map((e) => e.type), r.stdout + r.stderr).toContain("turn.completed");
    expect(events.some((e) => e.item?.type === "agent_message" && e.item.text.trim() !== "")).toBe(true);
    expect(r.status).toBe(0);
  }, TURN_MS);

  it("claude -p completes a turn over the Messages API", async () => {
    const { home, work } = scratch("claude");
    const trimming = ["--system-prompt", "You are a helpful assistant.", "--tools", ""];
    const r = await run(bin("claude"), ["-p", PROMPT, "--model", MODEL, ...(trimmed ? trimming : [])], work, {
      HOME: home,
      ANTHROPIC_BASE_URL: base,
      ANTHROPIC_API_KEY: "unused",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      DISABLE_TELEMETRY: "1",
      DISABLE_AUTOUPDATER: "1",
      CLAUDE_CODE_MAX_OUTPUT_TOKENS: String(MAX_OUTPUT),
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout.trim()).not.toBe("");
  }, TURN_MS);

  it("opencode run completes a turn over chat completions", async () => {
    const { home, work } = scratch("opencode");
    const off = ["bash", "edit", "glob", "grep", "read", "skill", "task", "todowrite", "webfetch", "write", "list"];
    const config = {
      autoupdate: false,
      share: "disabled",
      provider: {
        gust: {
          npm: "@ai-sdk/openai-compatible",
          options: { baseURL: `${base}/v1`, apiKey: "unused" },
          // the served context: told less, opencode compacts its own 16k prompt and loops on "Continue"
          models: { [MODEL]: { tool_call: true, limit: { context: contextLength, output: MAX_OUTPUT } } },
        },
      },
      // trimmed: a primary agent with a one-line prompt and no tools
      agent: {
        mini: {
          mode: "primary",
          prompt: "You are a helpful assistant.",
          tools: Object.fromEntries(off.map((t) => [t, false])),
        },
      },
    };
    writeFileSync(join(home, "opencode.json"), JSON.stringify(config));
    const xdg = (d: string) => join(home, d);
    const r = await run(
      bin("opencode"),
      ["run", ...(trimmed ? ["--agent", "mini"] : []), "-m", `gust/${MODEL}`, PROMPT],
      work,
      {
        HOME: home,
        XDG_CONFIG_HOME: xdg(".config"),
        XDG_DATA_HOME: xdg(".data"),
        XDG_CACHE_HOME: xdg(".cache"),
        XDG_STATE_HOME: xdg(".state"),
        OPENCODE_CONFIG: join(home, "opencode.json"),
        OPENCODE_DISABLE_MODELS_FETCH: "1",
        OPENCODE_DISABLE_AUTOUPDATE: "1",
        OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
      },
    );
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout.trim()).not.toBe("");
    expect(r.stderr).not.toMatch(/Error:/);
  }, TURN_MS);
});
