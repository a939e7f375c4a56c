// Requests to the gateway that served the page, with the keys typed into the page. Keys live in sessionStorage:
// they survive a reload of this tab and go when it closes.
const API_KEY = "gust.apiKey";
const ADMIN_KEY = "gust.adminKey";

export const keys = {
  get api(): string {
    return sessionStorage.getItem(API_KEY) ?? "";
  },
  set api(v: string) {
    sessionStorage.setItem(API_KEY, v.trim());
  },
  get admin(): string {
    return sessionStorage.getItem(ADMIN_KEY) ?? "";
  },
  set admin(v: string) {
    sessionStorage.setItem(ADMIN_KEY, v.trim());
  },
};

export function apiFetch(path: string, init: RequestInit = {}, admin = false): Promise<Response> {
  const headers = new Headers(init.headers);
  if (keys.api) headers.set("authorization", `Bearer ${keys.api}`);
  if (admin && keys.admin) headers.set("x-admin-key", keys.admin);
  return fetch(path, { ...init, headers });
}

/** The message of a gateway error body ({error: {message}}), else the status line and the start of the text. */
export async function errorMessage(res: Response): Promise<string> {
  const text = await res.text();
  try {
    const message = JSON.parse(text)?.error?.message;
    if (typeof message === "string") return `${res.status}: ${message}`;
  } catch { /* not JSON: fall through */ }
  return `${res.status} ${res.statusText}: ${text.slice(0, 200)}`;
}
