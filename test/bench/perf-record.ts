// One `perf record` running in the background for the latency bench's --perf and --sched: started with the events
// and target to record, stopped with SIGINT (perf then writes its file), read back with a perf report command.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export class PerfRecord {
  private constructor(private readonly proc: ChildProcess, readonly file: string) {}

  /** Starts `perf record ARGS -o FILE`; null when perf is not installed. */
  static start(args: string[]): PerfRecord | null {
    if (spawnSync("perf", ["--version"]).status !== 0) return null;
    const file = join(mkdtempSync(join(tmpdir(), "gust-perf-")), "perf.data");
    return new PerfRecord(spawn("perf", ["record", ...args, "-o", file], { stdio: "ignore" }), file);
  }

  /** Stops recording and returns what `perf READ_ARGS -i FILE` prints about it. */
  async stop(readArgs: string[]): Promise<string> {
    const exited = new Promise((resolve) => this.proc.once("exit", resolve));
    this.proc.kill("SIGINT");
    await exited;
    return spawnSync("perf", [...readArgs, "-i", this.file], { encoding: "utf8", maxBuffer: 1 << 28 }).stdout ?? "";
  }
}
