// The `gust run --ids … --image FILE…` path below the argument parser: PNG files paired with the image
// runs in the golden ids, the vision tower, generate() with the features; greedy tokens must equal the
// golden exactly, in one prefill and in chunks that split an image run. Plus the input errors.
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import { generate } from "../helpers/generate.ts";
import { loadModel } from "../../runtime/model/load-model.ts";
import { requireVision } from "../../runtime/vision/open-vision.ts";
import { imageFeaturesForIds, imagesForIds } from "../../runtime/vision/run-images.ts";
import { fixtureDir, Golden } from "../helpers/fixtures.ts";
import { goldenImages } from "../helpers/vision-fixtures.ts";

const backend = createBackend("cpu");
const dir = fixtureDir("tiny-mistral3");
const model = loadModel(dir, backend);
const vision = requireVision(model.config, backend);
afterAll(() => {
  vision.dispose();
  model.dispose();
});
const golden = new Golden("tiny-mistral3");
const files = { one_image: ["one_image.image0.png"], two_images: ["two_images.image0.png", "two_images.image1.png"] };

describe.each(Object.entries(files))("gust run path, %s", (c, names) => {
  const ids = Array.from(golden.i32(`${c}.input_ids`));
  const paths = names.map((n) => join(dir, n));

  it.each([512, 3])("greedy tokens equal the golden (prefill chunk %i)", (prefillChunk) => {
    const images = imageFeaturesForIds(vision, ids, paths);
    const result = generate(backend, model.model, ids, {
      maxTokens: 16,
      temperature: 0,
      ignoreEos: true,
      prefillChunk,
      images,
    });
    expect(result.ids).toEqual(Array.from(golden.i32(`${c}.greedy`)));
  });

  it("decodes each file to the golden image", () => {
    const images = imagesForIds(ids, paths, vision.config);
    expect(images.map((i) => Buffer.from(i.rgb).toString("hex"))).toEqual(
      goldenImages(golden, c).map((i) => Buffer.from(i.rgb).toString("hex")),
    );
  });
});

describe("gust run image errors", () => {
  const ids = Array.from(golden.i32("two_images.input_ids"));
  const paths = files.two_images.map((n) => join(dir, n));

  it("one file per image run", () => {
    expect(() => imagesForIds(ids, paths.slice(0, 1), vision.config)).toThrow(
      /The ids hold 2 images \(\[IMG\] runs\) but 1 --image file was given/,
    );
    expect(() =>
      generate(backend, model.model, ids, {
        maxTokens: 1,
        temperature: 0,
        images: imageFeaturesForIds(vision, golden.i32("one_image.input_ids"), [join(dir, files.one_image[0])]),
      })
    )
      .toThrow(/The prompt has 10 \[IMG\] tokens \(id 10\) but the images give 6 feature rows/);
  });

  it("an image whose size does not match its token grid is refused, or resized by the caller's function", () => {
    const swapped = [paths[1], paths[0]];
    expect(() => imagesForIds(ids, swapped, vision.config)).toThrow(
      /two_images.image1.png is 112×28 pixels, but its image tokens \(from token 4\) are a 2×3 grid, which needs 56×84/,
    );
    const calls: string[] = [];
    const images = imagesForIds(ids, swapped, vision.config, {
      resize: (img, w, h) => {
        calls.push(`${img.width}x${img.height}->${w}x${h}`);
        return { rgb: new Uint8Array(w * h * 3), width: w, height: h };
      },
    });
    expect(calls).toEqual(["112x28->56x84", "56x84->112x28"]);
    expect(images.map((i) => [i.width, i.height])).toEqual([[56, 84], [112, 28]]);
  });

  it("a missing file and a non-PNG file are named", () => {
    expect(() => imagesForIds(ids, [paths[0], join(dir, "nope.png")], vision.config)).toThrow(
      /Cannot read --image .*nope.png/,
    );
    expect(() => imagesForIds(ids, [paths[0], join(dir, "config.json")], vision.config)).toThrow(
      /config.json is not a PNG file/,
    );
  });
});
