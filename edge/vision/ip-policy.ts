/** Which IP addresses an image fetch may connect to: public unicast only. Everything a server-side request
 * forgery would aim at is refused — loopback, private, link-local (cloud metadata at 169.254.169.254), CGNAT,
 * unique-local, multicast, reserved and documentation ranges, the unspecified address, and IPv6 forms that
 * carry an IPv4 address (mapped ::ffff:a.b.c.d and compatible ::a.b.c.d always; NAT64 and 6to4 when the
 * embedded address is refused). Parsing is our own so that odd spellings cannot slip past a string match. */

/** 4 or 16 bytes, or null if `s` is not a plain IPv4 dotted quad or an IPv6 address (zone ids are refused). */
export function parseIp(s: string): Uint8Array | null {
  const host = s.startsWith("[") && s.endsWith("]") ? s.slice(1, -1) : s;
  return parseV4(host) ?? parseV6(host);
}

function parseV4(s: string): Uint8Array | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(parts[i])) return null; // no octal/hex forms: URL parsing has normalised them
    const v = Number(parts[i]);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

function parseV6(s: string): Uint8Array | null {
  if (!s.includes(":") || s.includes("%")) return null;
  let tail: Uint8Array | null = null;
  let text = s;
  const lastColon = s.lastIndexOf(":");
  if (s.slice(lastColon + 1).includes(".")) {
    // trailing dotted quad, e.g. ::ffff:127.0.0.1
    tail = parseV4(s.slice(lastColon + 1));
    if (!tail) return null;
    text = s.slice(0, lastColon + 1) + "0:0";
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const group = (h: string) => (h === "" ? [] : h.split(":"));
  const head = group(halves[0]);
  const rest = halves.length === 2 ? group(halves[1]) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(groups[i])) return null;
    const v = parseInt(groups[i], 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}

/** Does `ip` start with the `bits`-bit prefix `net`? */
function inPrefix(ip: Uint8Array, net: number[], bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const byte = i >> 3;
    const mask = 0x80 >> (i & 7);
    if ((ip[byte] & mask) !== ((net[byte] ?? 0) & mask)) return false;
  }
  return true;
}

const V4_REFUSED: [number[], number, string][] = [
  [[0], 8, "an unspecified/'this network' address (0.0.0.0/8)"],
  [[10], 8, "a private address (10.0.0.0/8)"],
  [[100, 64], 10, "a carrier-grade NAT address (100.64.0.0/10)"],
  [[127], 8, "a loopback address (127.0.0.0/8)"],
  [[169, 254], 16, "a link-local address (169.254.0.0/16, cloud metadata lives here)"],
  [[172, 16], 12, "a private address (172.16.0.0/12)"],
  [[192, 0, 0], 24, "an IETF protocol address (192.0.0.0/24)"],
  [[192, 0, 2], 24, "a documentation address (192.0.2.0/24)"],
  [[192, 88, 99], 24, "a 6to4 relay address (192.88.99.0/24)"],
  [[192, 168], 16, "a private address (192.168.0.0/16)"],
  [[198, 18], 15, "a benchmarking address (198.18.0.0/15)"],
  [[198, 51, 100], 24, "a documentation address (198.51.100.0/24)"],
  [[203, 0, 113], 24, "a documentation address (203.0.113.0/24)"],
  [[224], 4, "a multicast address (224.0.0.0/4)"],
  [[240], 4, "a reserved or broadcast address (240.0.0.0/4)"],
];

const V6_REFUSED: [number[], number, string][] = [
  [[], 128, "the unspecified address (::)"],
  [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 128, "a loopback address (::1)"],
  [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], 96, "an IPv4-mapped IPv6 address (::ffff:0:0/96)"],
  [[], 96, "an IPv4-compatible IPv6 address (::/96)"],
  [[0, 0x64, 0xff, 0x9b, 0, 1], 48, "a local-use NAT64 address (64:ff9b:1::/48)"],
  [[1, 0, 0, 0, 0, 0, 0, 0], 64, "a discard-only address (100::/64)"],
  [[0x20, 0x01, 0, 0], 32, "a Teredo address (2001::/32)"],
  [[0x20, 0x01, 0x0d, 0xb8], 32, "a documentation address (2001:db8::/32)"],
  [[0xfc], 7, "a unique-local address (fc00::/7)"],
  [[0xfe, 0x80], 10, "a link-local address (fe80::/10)"],
  [[0xfe, 0xc0], 10, "a site-local address (fec0::/10)"],
  [[0xff], 8, "a multicast address (ff00::/8)"],
];

/** Why this address is refused, or null when it is a public unicast address. Unparsable input is refused. */
export function refusedAddress(ip: string): string | null {
  const b = parseIp(ip);
  if (!b) return "not an IP address";
  if (b.length === 4) return V4_REFUSED.find(([net, bits]) => inPrefix(b, net, bits))?.[2] ?? null;
  const direct = V6_REFUSED.find(([net, bits]) => inPrefix(b, net, bits));
  if (direct) return direct[2];
  // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 address inside them.
  const embedded = inPrefix(b, [0, 0x64, 0xff, 0x9b], 96)
    ? b.subarray(12, 16)
    : inPrefix(b, [0x20, 0x02], 16)
    ? b.subarray(2, 6)
    : null;
  if (embedded) {
    const inner = V4_REFUSED.find(([net, bits]) => inPrefix(embedded, net, bits));
    if (inner) return `an IPv6 address embedding ${inner[2]}`;
  }
  return null;
}
