// Benchmark (not a test; timings never gate CI): gateway-side image preprocessing time per source megapixel,
// by stage — base64, probe (header + decoder metadata + SHA-256 of the file), decode (sharp), composite onto
// white, bicubic resize (OpenCV-exact, float32-emulated), rounding to bytes, hash — for photo-like inputs of the
// sizes users send, through the mistral-common size rule (max edge 1540); and end to end, how long the event loop
// was held (the longest wait of a 1 ms interval timer) with the render on the loop and on the render pool's worker.
//   npx bun bench/lab/vision-preprocess.ts [repeats=5]
//   npx deno run -A bench/lab/vision-preprocess.ts
import { Buffer } from "node:buffer";
import os from "node:os";
import sharp from "sharp";
import { resizeBicubic, toBytes } from "../../edge/vision/bicubic.ts";
import { ImageCache } from "../../edge/vision/cache.ts";
import { toRgbOnWhite } from "../../edge/vision/composite.ts";
import { decode } from "../../edge/vision/decode.ts";
import { resolveOptions } from "../../edge/vision/options.ts";
import { prepareImage, probeImage } from "../../edge/vision/prepare.ts";
import { sha256Hex } from "../../edge/vision/render.ts";
import { closeSharedRenderPools } from "../../edge/vision/render-pool.ts";
import { gridFor } from "../../edge/vision/size-rule.ts";
import { readSource } from "../../edge/vision/source.ts";

const repeats = Number(process.argv[2] ?? 5);
const opts = resolveOptions({});
const onLoop = { ...opts, renderWorkers: 0 };

/** Smooth gradients, a few hard edges and mild noise: compresses and decodes like a photo, unlike pure noise. */
async function photo(w: number, h: number, fmt: "jpeg" | "png" | "webp", alpha = false): Promise<Uint8Array> {
  const ch = alpha ? 4 : 3;
  const raw = new Uint8Array(w * h * ch);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * ch;
      const n = (Math.imul(o + 1, 2654435761) >>> 28) - 8;
      raw[o] = Math.max(0, Math.min(255, ((x * 255) / w) + n));
      raw[o + 1] = Math.max(0, Math.min(255, ((y * 255) / h) + n));
      raw[o + 2] = ((x >> 6) + (y >> 6)) % 2 ? 200 : 40;
      if (alpha) raw[o + 3] = (x * 7 + y * 3) & 255;
    }
  }
  const img = sharp(raw, { raw: { width: w, height: h, channels: ch } });
  const out = fmt === "jpeg" ? img.jpeg({ quality: 90 }) : fmt === "png" ? img.png() : img.webp({ quality: 90 });
  return new Uint8Array(await out.toBuffer());
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs `f` with a 1 ms interval timer beside it; the longest the timer waited past its period (ms): the event loop
 * held by work on it. */
async function heldDuring(f: () => Promise<unknown>): Promise<number> {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 1);
    last = now;
  }, 1);
  await f();
  clearInterval(timer);
  return Math.max(worst, performance.now() - last - 1);
}

async function timed(f: () => unknown | Promise<unknown>): Promise<number> {
  const t = performance.now();
  await f();
  return performance.now() - t;
}

const cases: [string, number, number, "jpeg" | "png" | "webp", boolean][] = [
  ["JPEG 1000x750", 1000, 750, "jpeg", false],
  ["JPEG 1920x1080", 1920, 1080, "jpeg", false],
  ["JPEG 4032x3024", 4032, 3024, "jpeg", false],
  ["PNG 1920x1080", 1920, 1080, "png", false],
  ["PNG RGBA 1280x720", 1280, 720, "png", true],
  ["WebP 1920x1080", 1920, 1080, "webp", false],
  ["PNG 640x480 (upscale)", 640, 480, "png", false],
];

console.log(`vision preprocessing, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), median of ${repeats}`);
console.log(`render pool: ${opts.renderWorkers} worker thread(s)`);
console.log(
  "input                    MP    -> target      b64   probe  decode  compos  resize  bytes  hash |  total   ms/MP ms/outMP  end-to-end  cached | loop held: on loop  pool",
);
for (const [label, w, h, fmt, alpha] of cases) {
  const file = await photo(w, h, fmt, alpha);
  const url = `data:image/${fmt};base64,${Buffer.from(file).toString("base64")}`;
  const mp = (w * h) / 1e6;
  const g = gridFor(w, h, opts);
  const t: Record<string, number[]> = {
    b64: [],
    probe: [],
    decode: [],
    composite: [],
    resize: [],
    bytes: [],
    hash: [],
    e2e: [],
    cached: [],
    heldLoop: [],
    heldPool: [],
  };
  for (let r = 0; r <= repeats; r++) {
    const rec = (k: string, v: number) => r > 0 && t[k].push(v); // run 0 warms up
    let bytes!: Uint8Array;
    rec(
      "b64",
      await timed(() => {
        const s = readSource(url, opts.maxImageBytes);
        if (s.kind === "bytes") bytes = s.bytes;
      }),
    );
    let p!: Awaited<ReturnType<typeof probeImage>>;
    rec("probe", await timed(async () => (p = await probeImage(bytes, opts))));
    let d!: Awaited<ReturnType<typeof decode>>;
    rec("decode", await timed(async () => (d = await decode(bytes, p.header, opts.maxPixels, true))));
    let rgb!: Uint8Array;
    rec("composite", await timed(() => (rgb = toRgbOnWhite(d.data, d.width * d.height, d.channels))));
    let f!: Float32Array;
    rec(
      "resize",
      await timed(
        () => (f = resizeBicubic({ width: d.width, height: d.height, channels: 3, data: rgb }, g.width, g.height).data),
      ),
    );
    let out!: Uint8Array;
    rec("bytes", await timed(() => (out = toBytes(f))));
    rec("hash", await timed(() => sha256Hex(out)));
    rec("e2e", await timed(() => prepareImage(bytes, opts)));
    rec("heldLoop", await heldDuring(() => prepareImage(bytes, onLoop)));
    rec("heldPool", await heldDuring(() => prepareImage(bytes, opts)));
    const cache = new ImageCache();
    await prepareImage(bytes, opts, cache);
    rec("cached", await timed(() => prepareImage(bytes, opts, cache)));
  }
  const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)]));
  const total = m.b64 + m.probe + m.decode + m.composite + m.resize + m.bytes + m.hash;
  const f1 = (x: number) => x.toFixed(1).padStart(6);
  console.log(
    `${label.padEnd(22)} ${mp.toFixed(2).padStart(5)} -> ${`${g.width}x${g.height}`.padEnd(10)} ${f1(m.b64)} ${
      f1(m.probe)
    } ${f1(m.decode)}  ${f1(m.composite)} ${f1(m.resize)} ${f1(m.bytes)} ${f1(m.hash)} | ${f1(total)} ${
      f1(total / mp)
    }   ${f1(total / ((g.width * g.height) / 1e6))}  ${f1(m.e2e).padStart(10)}  ${f1(m.cached)} |          ${
      f1(m.heldLoop)
    } ${f1(m.heldPool)}`,
  );
}
console.log(
  "ms per stage; ms/MP = total / source megapixels, ms/outMP = total / resized megapixels; end-to-end = prepareImage from file bytes; cached = a content-cache hit (probe + lookup);\n" +
    "loop held = the longest the event loop could not run a timer during one prepareImage, the render on the loop (renderWorkers 0) or on the pool",
);
closeSharedRenderPools();
