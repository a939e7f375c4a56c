/** Options of `vision()` and of the library functions, with their defaults and checks. */
import type { ImageCache } from "./cache.ts";
import type { FetchHooks } from "./fetch-image.ts";
import { defaultRenderWorkers } from "./render-pool.ts";

export interface VisionOptions {
  /** Image parts per request (each occurrence counts, repeats included). Default 8. */
  maxImages?: number;
  /** Image tokens per request ([IMG] + row ends, summed over occurrences). Default 16384. */
  maxImageTokens?: number;
  /** Bytes of one encoded image (after base64 decoding, or as downloaded). Default 20 MiB. */
  maxImageBytes?: number;
  /** Pixels of one image as its header states, checked before decoding. Default 50 million (a decoded
   * RGBA buffer of 200 MB; a 48-megapixel phone photo passes). */
  maxPixels?: number;
  /** Fetch http(s) image URLs. Default false: only data: URLs and base64. */
  allowUrls?: boolean;
  /** Hosts URLs may name: `example.com` (exactly), `*.example.com` (subdomains only), `*` (any public host).
   * Default empty: nothing is fetched even with allowUrls. */
  urlAllowlist?: string[];
  /** Ports URLs may name. Default [80, 443]. */
  urlPorts?: number[];
  /** `HOST[:PORT]` entries fetched even where they resolve to private addresses (url-policy.ts). Default none. */
  urlTrustedHosts?: string[];
  /** Whole fetch, redirects included. Default 10 000 ms. */
  fetchTimeoutMs?: number;
  /** Redirects followed per URL, each checked like the first URL. Default 3. */
  maxRedirects?: number;
  /** Over maxImageTokens: shrink every image (a smaller max edge for the whole request) instead of refusing. */
  downscaleToFit?: boolean;
  /** Apply EXIF orientation (phone photos). Default true. mistral-common does not, so a rotated photo's grid is
   * transposed compared with it; set false for byte parity with mistral-common. */
  exifOrientation?: boolean;
  /** Vision patch size (model config; the runtime's hello supplies it). Default 14. */
  imagePatchSize?: number;
  /** Patch merge factor. Default 2, so token cells are 28 pixels. */
  spatialMergeSize?: number;
  /** Longest edge after the resize rule. Default 1540. */
  maxImageSize?: number;
  /** Cache of prepared images by content; shared across requests of one middleware by default. false: none. */
  cache?: ImageCache | false;
  /** Worker threads that decode and resize images off the event loop (render-pool.ts), shared by every vision()
   * in the process. Default: the cores but one, 1 to 4. 0: on the event loop, where each image holds every other
   * request for its decode and resize (~50–250 ms for a 1–12 megapixel photo). */
  renderWorkers?: number;
  /** Test seams for URL fetching (DNS resolver, socket dialer). Production leaves these unset. */
  fetchHooks?: FetchHooks;
}

export type ResolvedOptions =
  & Required<Omit<VisionOptions, "cache" | "fetchHooks">>
  & Pick<VisionOptions, "cache" | "fetchHooks">;

export const DEFAULTS: Omit<ResolvedOptions, "cache" | "fetchHooks" | "renderWorkers"> = {
  maxImages: 8,
  maxImageTokens: 16_384,
  maxImageBytes: 20 * 1024 * 1024,
  maxPixels: 50_000_000,
  allowUrls: false,
  urlAllowlist: [],
  urlPorts: [80, 443],
  urlTrustedHosts: [],
  fetchTimeoutMs: 10_000,
  maxRedirects: 3,
  downscaleToFit: false,
  exifOrientation: true,
  imagePatchSize: 14,
  spatialMergeSize: 2,
  maxImageSize: 1540,
};

const POSITIVE_INTS = [
  "maxImages",
  "maxImageTokens",
  "maxImageBytes",
  "maxPixels",
  "fetchTimeoutMs",
  "imagePatchSize",
  "spatialMergeSize",
  "maxImageSize",
] as const;

/** Defaults filled in; a bad option is a programming error, so it throws at setup with the allowed values. */
export function resolveOptions(o: VisionOptions = {}): ResolvedOptions {
  const r = {
    ...DEFAULTS,
    renderWorkers: defaultRenderWorkers(),
    ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)),
  } as ResolvedOptions;
  for (const k of POSITIVE_INTS) {
    if (!Number.isSafeInteger(r[k]) || r[k] <= 0) {
      throw new TypeError(`vision option ${k} must be a positive integer, got ${String(r[k])}`);
    }
  }
  if (!Number.isSafeInteger(r.renderWorkers) || r.renderWorkers < 0 || r.renderWorkers > 64) {
    throw new TypeError(
      `vision option renderWorkers must be an integer 0..64 (0: on the event loop), got ${String(r.renderWorkers)}`,
    );
  }
  if (!Number.isSafeInteger(r.maxRedirects) || r.maxRedirects < 0) {
    throw new TypeError(`vision option maxRedirects must be an integer >= 0, got ${String(r.maxRedirects)}`);
  }
  if (!Array.isArray(r.urlAllowlist) || r.urlAllowlist.some((h) => typeof h !== "string" || h.length === 0)) {
    throw new TypeError("vision option urlAllowlist must be a list of host names: example.com, *.example.com or *");
  }
  if (!Array.isArray(r.urlPorts) || r.urlPorts.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
    throw new TypeError("vision option urlPorts must be a list of TCP ports 1..65535");
  }
  const cell = r.imagePatchSize * r.spatialMergeSize;
  if (r.maxImageSize < cell) {
    throw new TypeError(
      `vision option maxImageSize (${r.maxImageSize}) must be at least one token cell (${cell} pixels)`,
    );
  }
  return r;
}
