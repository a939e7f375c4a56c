#!/usr/bin/env bash
# Run HERE (the build machine) before a device call. The device machine has nvcc, PyTorch and python3 but
# no Bun and no node_modules, and a call carries at most 64 MiB, so this packs what the GPU suites and
# the bench need into .gpu-carry/ (ignored through .git/info/exclude):
#   bun.xz               the Bun binary from node_modules/bun, xz-compressed (~37 MB)
#   node_modules.tar.xz  vitest's dependency closure plus @huggingface/tokenizers (~10 MB)
# and builds kernels/build/ (carry it too: the device then rebuilds only what is stale).
# Then: run(command="bash tools/gpu/device-run.sh", carry=[".gpu-carry", "kernels/build"]).
# --bun-only packs Bun alone (tools/gpu/device-check.sh builds the kernels on the device and runs the suites under
# `bun test`): the tree (27 MB with models/gust-mini) and Bun (38 MB) then fit the 64 MiB a call carries.
set -euo pipefail
bun_only=0
[[ "${1:-}" == --bun-only ]] && bun_only=1
cd "$(dirname "$0")/../.."
exclude="$(git rev-parse --git-path info/exclude)"
mkdir -p "$(dirname "$exclude")"
grep -qx '/.gpu-carry/' "$exclude" 2>/dev/null || echo '/.gpu-carry/' >> "$exclude"
mkdir -p .gpu-carry
[[ -s .gpu-carry/bun.xz && .gpu-carry/bun.xz -nt node_modules/bun/bin/bun.exe ]] ||
  xz -T0 -9e -c node_modules/bun/bin/bun.exe > .gpu-carry/bun.xz  # -9e: 1 MB less, room in the 64 MiB carry
if ((bun_only)); then
  rm -f .gpu-carry/node_modules.tar.xz .gpu-carry/modules.txt
  # what a call sends: tracked and untracked-not-ignored files, plus the carry; refused above 64 MiB
  tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 stat -c %s 2> /dev/null |
    awk '{s += $1} END {print s}')
  carry=$(du -sb .gpu-carry | cut -f1)
  mib=$(((tree + carry) / 1048576))
  echo "a device call sends $mib MiB (tree $((tree / 1048576)), .gpu-carry $((carry / 1048576))) of 64"
  (((tree + carry) <= 64 * 1048576)) || { echo "over the 64 MiB a call may carry" >&2; exit 1; }
  exit 0
fi
npm run --silent build
node -e '
const fs = require("fs"), path = require("path"), seen = new Set();
function visit(name) {
  const dir = path.join("node_modules", name);
  if (seen.has(name) || !fs.existsSync(dir)) return;
  seen.add(name);
  const pj = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  for (const d of Object.keys({ ...pj.dependencies, ...pj.optionalDependencies })) visit(d);
}
// the lightningcss native binary (10 MB) serves CSS transforms, which the GPU suites never load
seen.add("lightningcss-linux-x64-gnu");
["vitest", "@huggingface/tokenizers"].forEach(visit);
seen.delete("lightningcss-linux-x64-gnu");
console.log([...seen].join("\n"));
' > .gpu-carry/modules.txt
(cd node_modules && tar cf - $(cat ../.gpu-carry/modules.txt)) | xz -T0 -6 > .gpu-carry/node_modules.tar.xz
du -sh .gpu-carry kernels/build
