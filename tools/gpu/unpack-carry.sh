# Sourced ON THE DEVICE MACHINE by device-run.sh and profile.sh: Bun from .gpu-carry/ onto PATH (also as
# node_modules/.bin/bun, where test/helpers/processes.ts spawns it), vitest's closure into node_modules/, and
# OUT defaulted for runs outside the device tool.
OUT="${OUT:-/tmp/gust-out}"
mkdir -p "$OUT" /tmp/gust-bin node_modules/.bin
xz -dc .gpu-carry/bun.xz > /tmp/gust-bin/bun && chmod +x /tmp/gust-bin/bun
export PATH="/tmp/gust-bin:$PATH" PYTHONUNBUFFERED=1
tar xJf .gpu-carry/node_modules.tar.xz -C node_modules
ln -sf /tmp/gust-bin/bun node_modules/.bin/bun
