/** The operator's image-URL setting (gust serve/dev --image-urls, --image-url-allow) as vision() options:
 *   public (default)  http(s) URLs whose every resolved address is public, plus the allowed hosts
 *   allowlist         only the allowed hosts
 *   off               no URL is fetched; images come inline
 * Allowed hosts (`HOST[:PORT]`) are fetched even at private addresses: an internal image server, or a test's
 * loopback server. Everything still goes through fetch-image.ts (size, time and redirect caps). */
import type { VisionOptions } from "./options.ts";

export const IMAGE_URL_MODES = ["off", "public", "allowlist"] as const;
export type ImageUrlMode = (typeof IMAGE_URL_MODES)[number];

export interface ImageUrlSettings {
  mode: ImageUrlMode;
  allow: string[];
}

export const DEFAULT_IMAGE_URLS: ImageUrlSettings = { mode: "public", allow: [] };

export function imageUrlOptions(s: ImageUrlSettings): Pick<
  VisionOptions,
  "allowUrls" | "urlAllowlist" | "urlTrustedHosts"
> {
  if (s.mode === "off") return { allowUrls: false };
  return { allowUrls: true, urlAllowlist: s.mode === "public" ? ["*"] : [], urlTrustedHosts: [...s.allow] };
}
