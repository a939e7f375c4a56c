#!/usr/bin/env bun
// The `gust` command line: one subcommand per job (DESIGN §3).
// Each command's module loads only when that command runs: the gateway process (`gust serve`) must not carry the
// model side (bun:ffi, kernels, engine) or esbuild, whose code would sit in its heap and lengthen every GC pause.
type Command = (argv: string[]) => Promise<string>;
const commands: Record<string, () => Promise<Command>> = {
  run: async () => (await import("./run-command.ts")).runCommand,
  bench: async () => (await import("./bench-command.ts")).benchCommand,
  plan: async () => (await import("./plan-command.ts")).planCommand,
  dev: async () => (await import("./dev-command.ts")).devCommand,
  tokenize: async () => (await import("./tokenize-command.ts")).tokenizeCommand,
  runtime: async () => (await import("./runtime-command.ts")).runtimeCommand,
  serve: async () => (await import("../../edge/cli/serve-command.ts")).serveCommand,
  deploy: async () => (await import("../../edge/cli/deploy-command.ts")).deployCommand,
  rollback: async () => (await import("../../edge/cli/deploy-command.ts")).rollbackCommand,
};

const help = `gust: serverless-style runtime for model functions

commands:
  run       one generation without a server (gust run --model DIR --ids 1,2,3 --json)
  tokenize  chat-encode messages or text with the model's tokenizer (--json: {ids, text})
  runtime   the persistent model process (gust runtime --model DIR --socket PATH)
  serve     the HTTP gateway (gust serve --runtime SOCKET [--port 8080])
  deploy    bundle a function and deploy it to a running gateway (gust deploy FILE --name N)
  rollback  re-activate a function's previous version (gust rollback N)
  bench     CPU decode throughput against this machine's memory bandwidth
  plan      will a model fit N GPUs of G GiB, and with how much context (gust plan --model DIR --gpus N --gpu-memory G)
  dev       runtime + gateway for local work, functions redeployed on save (npm start)`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${help}\n`);
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`gust: unknown command "${name}"\n\n${help}\n`);
    return 2;
  }
  try {
    const output = await (await load())(rest);
    if (output) process.stdout.write(`${output}\n`);
    return 0;
  } catch (err) {
    const e = err as Error;
    process.stderr.write(`gust ${name}: ${e.message}\n`);
    return e.name === "UsageError" ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
export {};
