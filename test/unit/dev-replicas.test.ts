// `gust dev --replicas N`'s flag and layout, without processes (test/e2e/dev-replicas.test.ts runs them).
import { describe, expect, it } from "vitest";
import { MAX_REPLICAS, parseReplicas, replicaLayout } from "../../runtime/cli/dev-replicas.ts";

describe("--replicas", () => {
  it("takes a whole number from 1 to the cap; absent is 1", () => {
    expect(parseReplicas(undefined, 1)).toBe(1);
    expect(parseReplicas("1", 1)).toBe(1);
    expect(parseReplicas("3", 1)).toBe(3);
    expect(parseReplicas(String(MAX_REPLICAS), 1)).toBe(MAX_REPLICAS);
  });

  it.each(["0", "-1", "1.5", "two", "", "1e1", "0x2", String(MAX_REPLICAS + 1)])(
    "refuses %j, naming the flag",
    (raw) => {
      expect(() => parseReplicas(raw, 1)).toThrow(
        `--replicas must be a whole number of runtimes from 1 to ${MAX_REPLICAS}, got "${raw}"`,
      );
    },
  );

  it("refuses several replicas with tensor parallelism, and says what to do instead", () => {
    expect(() => parseReplicas("2", 2)).toThrow(/--replicas 2 with --tensor-parallel 2 is not supported.*gust serve/);
    expect(parseReplicas("1", 4)).toBe(1); // one replica of a TP runtime is plain `gust dev --tp 4`
  });

  it("gives each replica its own socket and label and a share of the CPU threads", () => {
    expect(replicaLayout(1, "/w", 8)).toEqual([{ label: "runtime", socket: "/w/runtime.sock", threadArgs: [] }]);
    expect(replicaLayout(3, "/w", 8)).toEqual([1, 2, 3].map((i) => ({
      label: `runtime ${i}`,
      socket: `/w/runtime-${i}.sock`,
      threadArgs: ["--threads", "2"],
    })));
    expect(replicaLayout(4, "/w", 2).map((r) => r.threadArgs)).toEqual(Array(4).fill(["--threads", "1"]));
  });
});
