// The gateway's flags (edge/cli/serve-args.ts), shared by `gust serve` on Bun and edge/main-deno.ts.
import { describe, expect, it } from "vitest";
import { parseServeArgs } from "../../edge/cli/serve-args.ts";

describe("parseServeArgs", () => {
  it("reads --name value, --name=value and repeated api keys", () => {
    const cfg = parseServeArgs(["--runtime", "/tmp/s.sock", "--port=9090", "--api-key", "a", "--api-key=b"]);
    expect(cfg).toMatchObject({ runtime: ["/tmp/s.sock"], routing: "prefix", port: 9090, apiKeys: ["a", "b"] });
    expect(cfg.stateDir).toMatch(/\.gust\/functions$/);
  });

  it("refuses an unknown option, a missing --runtime and a bad port with the usage", () => {
    expect(() => parseServeArgs(["--runtime", "/tmp/s.sock", "--gc-threads", "idle"])).toThrow(
      /Unknown option '--gc-threads'[\s\S]*usage: gust serve/,
    );
    expect(() => parseServeArgs([])).toThrow(/--runtime is required/);
    expect(() => parseServeArgs(["--runtime", "x", "--port", "70000"])).toThrow(/--port must be an integer/);
  });

  it("takes --runtime repeated (a pool) with a routing mode, and refuses a repeated address or an unknown mode", () => {
    const cfg = parseServeArgs(["--runtime", "/tmp/a.sock", "--runtime", "tcp:10.0.0.2:7000", "--routing", "random"]);
    expect(cfg).toMatchObject({ runtime: ["/tmp/a.sock", "tcp:10.0.0.2:7000"], routing: "random" });
    expect(() => parseServeArgs(["--runtime", "a", "--runtime", "a"])).toThrow(/same runtime twice/);
    expect(() => parseServeArgs(["--runtime", "a", "--routing", "sticky"])).toThrow(/--routing must be one of/);
    expect(() => parseServeArgs(["--runtime", "a", "--auth-token-file", "/nonexistent/t"])).toThrow(
      /--auth-token-file/,
    );
  });
});

describe("parseServeArgs: --function-wall-ms", () => {
  it("opens local addresses to functions' allowHosts only with --function-allow-local", () => {
    expect(parseServeArgs(["--runtime", "a", "--function-allow-local"]).isolates).toEqual({ allowLocalHosts: true });
    expect(parseServeArgs(["--runtime", "a"]).isolates.allowLocalHosts).toBeUndefined();
  });

  it("sets the isolates' wall-time limit, and refuses what is not a positive whole number of ms", () => {
    expect(parseServeArgs(["--runtime", "a", "--function-wall-ms", "1500"]).isolates).toEqual({ wallMs: 1500 });
    expect(parseServeArgs(["--runtime", "a"]).isolates).toEqual({});
    for (const bad of ["0", "1.5", "soon"]) {
      expect(() => parseServeArgs(["--runtime", "a", "--function-wall-ms", bad])).toThrow(
        /--function-wall-ms must be an integer ≥ 1/,
      );
    }
  });
});

describe("parseServeArgs: served names and image URLs", () => {
  const base = ["--runtime", "/tmp/s.sock"];
  it("collects repeated --served-model-name", () => {
    const a = parseServeArgs([...base, "--served-model-name", "mistral-medium-3.5", "--served-model-name=m/M-128B"]);
    expect(a.servedModelNames).toEqual(["mistral-medium-3.5", "m/M-128B"]);
    expect(() => parseServeArgs([...base, "--served-model-name", " x"])).toThrow(/--served-model-name must be/);
  });

  it("image URLs: public by default, off and allowlist, with HOST[:PORT] entries checked", () => {
    expect(parseServeArgs(base).imageUrls).toEqual({ mode: "public", allow: [] });
    const a = parseServeArgs([...base, "--image-urls", "allowlist", "--image-url-allow", "img.internal:8080"]);
    expect(a.imageUrls).toEqual({ mode: "allowlist", allow: ["img.internal:8080"] });
    expect(parseServeArgs([...base, "--image-url-allow", "[::1]:9000"]).imageUrls.allow).toEqual(["[::1]:9000"]);
    expect(() => parseServeArgs([...base, "--image-urls", "all"])).toThrow(
      '--image-urls must be one of off, public, allowlist, got "all"',
    );
    expect(() => parseServeArgs([...base, "--image-url-allow", "http://x/"])).toThrow(/takes HOST or HOST:PORT/);
    expect(() => parseServeArgs([...base, "--image-url-allow", "x:70000"])).toThrow(/takes HOST or HOST:PORT/);
    expect(() => parseServeArgs([...base, "--image-urls", "off", "--image-url-allow", "x"])).toThrow(/drop one/);
  });
});

describe("parseServeArgs --default-temperature", () => {
  it("takes a number ≥ 0 and refuses anything else", () => {
    expect(parseServeArgs(["--runtime", "/tmp/s.sock"]).defaultTemperature).toBeUndefined();
    expect(parseServeArgs(["--runtime", "/tmp/s.sock", "--default-temperature", "0"]).defaultTemperature).toBe(0);
    for (const bad of ["-1", "hot", ""]) {
      expect(() => parseServeArgs(["--runtime", "/tmp/s.sock", `--default-temperature=${bad}`])).toThrow(
        /--default-temperature must be a number ≥ 0/,
      );
    }
  });
});

describe("parseServeArgs --tool-call-schemas", () => {
  it("takes all or strict and refuses anything else, naming both", () => {
    expect(parseServeArgs(["--runtime", "/tmp/s.sock"]).toolCallSchemas).toBeUndefined();
    for (const mode of ["all", "strict"]) {
      expect(parseServeArgs(["--runtime", "/tmp/s.sock", "--tool-call-schemas", mode]).toolCallSchemas).toBe(mode);
    }
    expect(() => parseServeArgs(["--runtime", "/tmp/s.sock", "--tool-call-schemas", "off"])).toThrow(
      /--tool-call-schemas must be one of all, strict .*got "off"/,
    );
  });
});
