// The functions panel: the deployed functions with their versions (GET /admin/functions, which needs the admin
// key) and a form that calls one at /fn/<name>/<path>.
import { apiFetch, errorMessage, keys } from "./api.ts";

interface Listed {
  name: string;
  version: number;
  versions: number[];
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

export async function refreshFunctions(): Promise<void> {
  const note = $("functions-note"), list = $("functions-list"), names = $("fn-names");
  list.replaceChildren();
  if (!keys.admin) {
    note.textContent = "Type the admin key above to list the deployed functions; you can still call one by name.";
    return;
  }
  const res = await apiFetch("/admin/functions", {}, true).catch((e) => e as Error);
  if (res instanceof Error || !res.ok) {
    note.textContent = `Cannot list functions: ${res instanceof Error ? res.message : await errorMessage(res)}`;
    return;
  }
  const { functions } = (await res.json()) as { functions: Listed[] };
  note.textContent = functions.length === 0 ? "No functions are deployed." : "";
  list.replaceChildren(
    ...functions.map((f) => {
      const li = document.createElement("li");
      li.textContent = `${f.name} v${f.version} (versions ${f.versions.join(", ")})`;
      return li;
    }),
  );
  names.replaceChildren(...functions.map((f) => Object.assign(document.createElement("option"), { value: f.name })));
}

export function wireFunctionForm(): void {
  const form = $<HTMLFormElement>("function-call");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const out = $("fn-result");
    const name = $<HTMLInputElement>("fn-name").value.trim();
    const method = $<HTMLSelectElement>("fn-method").value;
    const path = $<HTMLInputElement>("fn-path").value.trim().replace(/^\/+/, "");
    const body = $<HTMLTextAreaElement>("fn-body").value;
    if (!/^[A-Za-z0-9_-]+$/.test(name)) {
      out.textContent = "Function: a deployed function's name (letters, digits, - and _)";
      return;
    }
    out.textContent = `Calling ${method} /fn/${name}/${path}…`;
    const init: RequestInit = method === "GET"
      ? { method }
      : { method, body, headers: { "content-type": "application/json" } };
    try {
      const res = await apiFetch(`/fn/${name}/${path}`, init);
      const text = await res.text();
      let shown = text;
      try {
        shown = JSON.stringify(JSON.parse(text), null, 2);
      } catch { /* not JSON: show as it came */ }
      out.textContent = `${res.status} ${res.statusText}\n${shown}`;
    } catch (e) {
      out.textContent = `The call failed: ${(e as Error).message}`;
    }
  });
  $("functions-refresh").addEventListener("click", () => void refreshFunctions());
}
