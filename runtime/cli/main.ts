#!/usr/bin/env bun
// The `gust` command line: one subcommand per job (DESIGN §3).
import { benchCommand } from "./bench-command.ts";
import { devCommand } from "./dev-command.ts";
import { deployCommand, rollbackCommand } from "../../edge/cli/deploy-command.ts";
import { serveCommand } from "../../edge/cli/serve-command.ts";
import { runCommand } from "./run-command.ts";
import { runtimeCommand } from "./runtime-command.ts";
import { tokenizeCommand } from "./tokenize-command.ts";

const commands: Record<string, (argv: string[]) => Promise<string>> = {
  run: runCommand,
  bench: benchCommand,
  dev: devCommand,
  tokenize: tokenizeCommand,
  runtime: runtimeCommand,
  serve: serveCommand,
  deploy: deployCommand,
  rollback: rollbackCommand,
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
  dev       runtime + gateway for local work, functions redeployed on save (npm start)`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${help}\n`);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`gust: unknown command "${name}"\n\n${help}\n`);
    return 2;
  }
  try {
    const output = await command(rest);
    if (output) process.stdout.write(`${output}\n`);
    return 0;
  } catch (err) {
    const e = err as Error;
    process.stderr.write(`gust ${name}: ${e.message}\n`);
    return e.name === "UsageError" ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
