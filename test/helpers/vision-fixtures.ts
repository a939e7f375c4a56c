// The golden images of a fixture case (<case>.image<k>.rgb, uint8 H×W×3) as RgbImage values.
import type { RgbImage } from "../../runtime/vision/pixels.ts";
import type { Golden } from "./fixtures.ts";

export function goldenImages(golden: Golden, c: string): RgbImage[] {
  const out: RgbImage[] = [];
  for (let k = 0; golden.has(`${c}.image${k}.rgb`); k++) {
    const info = golden.file.tensors.get(`${c}.image${k}.rgb`)!;
    out.push({ rgb: golden.file.bytes(info).slice(), height: info.shape[0], width: info.shape[1] });
  }
  return out;
}
