// CPU vision-tower time per image (issue 7's benchmark): VisionModel.encode on the model's own images
// of several sizes, one image per call and all in one call, median of repeated runs, next to the
// arithmetic it does (linear FLOPs) so the figure can be read against the machine's peak.
// Run: bun bench/lab/vision-tower.ts [model dir, default test/fixtures/tiny-mistral3] [repeats]
import type { Backend } from "../../ffi/backend.ts";
import { createBackend } from "../../ffi/backend.ts";
import { loadModelConfig } from "../../runtime/config/load-config.ts";
import { requireVision } from "../../runtime/vision/open-vision.ts";
import type { RgbImage } from "../../runtime/vision/pixels.ts";
import type { VisionConfig } from "../../runtime/vision/vision-config.ts";

export interface VisionFigure {
  label: string;
  images: number;
  patches: number;
  msPerCall: number;
  msPerImage: number;
  gflopPerImage: number;
}

function syntheticImage(height: number, width: number, seed: number): RgbImage {
  const rgb = new Uint8Array(height * width * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 2654435761 + seed * 97) >>> 24;
  return { rgb, height, width };
}

/** Multiply-adds ×2 of the linears plus attention's QKᵀ and PV for one image of `patches` patches. */
function flops(c: VisionConfig, patches: number): number {
  const d = c.hiddenSize,
    f = c.intermediateSize,
    s2 = c.spatialMergeSize ** 2,
    merged = patches / s2,
    e = c.textHiddenSize;
  const perLayer = patches * (4 * d * d + 3 * d * f) + 2 * patches * patches * d;
  return 2 * (patches * 3 * c.patchSize ** 2 * d + c.numLayers * perLayer + merged * (s2 * d * d + d * e + e * e));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export function measureVisionTower(backend: Backend, dir: string, repeats = 20): VisionFigure[] {
  const vision = requireVision(loadModelConfig(dir), backend);
  try {
    const c = vision.config, cell = c.patchSize * c.spatialMergeSize, max = Math.floor(c.imageSize / cell) * cell;
    const sizes: [number, number][] = [[cell * 2, cell * 3], [cell, max], [max, max]];
    const images = sizes.map(([h, w], i) => syntheticImage(h, w, i));
    const patchesOf = (img: RgbImage) => (img.height / c.patchSize) * (img.width / c.patchSize);
    const time = (batch: RgbImage[]) => {
      vision.model.encode(batch); // warm-up
      const ms: number[] = [];
      for (let r = 0; r < repeats; r++) {
        const start = performance.now();
        vision.model.encode(batch);
        ms.push(performance.now() - start);
      }
      return median(ms);
    };
    const figures: VisionFigure[] = images.map((img) => {
      const ms = time([img]);
      return {
        label: `${img.width}×${img.height}`,
        images: 1,
        patches: patchesOf(img),
        msPerCall: ms,
        msPerImage: ms,
        gflopPerImage: flops(c, patchesOf(img)) / 1e9,
      };
    });
    const ms = time(images);
    const patches = images.reduce((n, img) => n + patchesOf(img), 0);
    figures.push({
      label: "all three in one call",
      images: images.length,
      patches,
      msPerCall: ms,
      msPerImage: ms / images.length,
      gflopPerImage: images.reduce((n, img) => n + flops(c, patchesOf(img)), 0) / images.length / 1e9,
    });
    return figures;
  } finally {
    vision.dispose();
  }
}

if (import.meta.main) {
  const dir = process.argv[2] ?? "test/fixtures/tiny-mistral3";
  const backend = createBackend("cpu");
  console.log(`vision tower on the CPU (${backend.numThreads} threads, vector kernels: ${backend.vectorized}), ${dir}`);
  for (const f of measureVisionTower(backend, dir, Number(process.argv[3] ?? 20))) {
    console.log(
      `  ${f.label.padEnd(22)} ${String(f.patches).padStart(5)} patches  ${f.msPerImage.toFixed(3)} ms/image  ` +
        `(${f.msPerCall.toFixed(3)} ms/call, ${f.gflopPerImage.toFixed(4)} GFLOP/image, ${
          (f.gflopPerImage / (f.msPerImage / 1000)).toFixed(2)
        } GFLOP/s)`,
    );
  }
}
