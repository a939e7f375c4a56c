// The gateway's event-loop stall monitor: a synchronous block shows up as lag at least as long as the block minus
// one probe interval; a quiet loop records observations without inventing lag; stop() ends the probing.
import { describe, expect, it } from "vitest";
import { systemClock } from "../../edge/clock.ts";
import { LoopLagMonitor } from "../../edge/metrics/loop-lag.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function blockFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // a handler doing synchronous work
  }
}

describe("LoopLagMonitor", () => {
  it("records a synchronous block as lag of at least the block minus one interval", async () => {
    const seen: number[] = [];
    const monitor = new LoopLagMonitor({ observe: (s) => seen.push(s) }, systemClock, 10).start();
    await sleep(15);
    blockFor(80);
    await sleep(30);
    monitor.stop();
    expect(monitor.maxMs).toBeGreaterThanOrEqual(70);
    expect(Math.max(...seen) * 1000).toBe(monitor.maxMs);
  });

  it("stops probing after stop()", async () => {
    const seen: number[] = [];
    const monitor = new LoopLagMonitor({ observe: (s) => seen.push(s) }, systemClock, 5).start();
    await sleep(30);
    monitor.stop();
    const count = seen.length;
    expect(count).toBeGreaterThan(0);
    expect(seen.every((s) => s >= 0)).toBe(true);
    await sleep(30);
    expect(seen.length).toBe(count);
  });
});
