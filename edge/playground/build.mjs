// Bundles the playground page's script (src/main.ts → dist/app.js) with esbuild; `npm run build` runs it so a clean
// clone serves the page. index.html and style.css are served as they are.
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
await build({
  entryPoints: [join(here, "src", "main.ts")],
  outfile: join(here, "dist", "app.js"),
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: false,
  sourcemap: false,
  logLevel: "warning",
});
