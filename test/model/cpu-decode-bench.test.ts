// `gust bench`'s decode measurement on a model whose context is shorter than the asked length (the tiny fixtures
// hold 256 positions; `gust bench --tokens 64` asks 256 decode tokens of them): it measures what fits.
import { describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import { measureDecode } from "../../runtime/bench/cpu-decode.ts";
import { fixtureDir } from "../helpers/fixtures.ts";

describe("measureDecode", () => {
  it("fits the run into the model's context instead of refusing it", () => {
    const figures = measureDecode(createBackend("cpu"), fixtureDir("tiny-mistral3-fp8"), "tiny", 1000);
    expect(figures.tokensPerSecond).toBeGreaterThan(0);
    expect(Number.isFinite(figures.tokensPerSecond)).toBe(true);
    expect(figures.weightBytes).toBeGreaterThan(0);
  });
});
