// `gust tokenize`: the text layer's command (runtime/text/tokenize-command.ts), exposed on the CLI.
export { tokenizeCommand } from "../text/tokenize-command.ts";
