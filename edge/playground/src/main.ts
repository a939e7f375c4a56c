// The playground page: wires the composer, the settings panel, the status line and the functions panel.
import { apiFetch, errorMessage, keys } from "./api.ts";
import { Chat } from "./chat.ts";
import { refreshFunctions, wireFunctionForm } from "./functions-panel.ts";
import { takeImages, wireImages } from "./images.ts";
import { EXAMPLE_TOOLS } from "./request.ts";
import { startStatus } from "./status.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const value = (id: string) => $<HTMLInputElement>(id).value;

const message = $<HTMLTextAreaElement>("message");
const send = $<HTMLButtonElement>("send"), stop = $<HTMLButtonElement>("stop");
const regenerate = $<HTMLButtonElement>("regenerate");
const attachments = $("attachments");

const chat = new Chat({
  list: $("conversation"),
  error: $("chat-error"),
  onBusy(busy) {
    send.disabled = busy;
    stop.disabled = !busy;
    regenerate.disabled = busy || chat.entries.length === 0;
    // back to the message box, unless the person has moved on to another control meanwhile
    const focus = document.activeElement;
    if (!busy && (focus === null || focus === document.body || $("composer").contains(focus))) message.focus();
  },
  settings: () => ({
    model: value("model"),
    effort: value("effort"),
    budget: value("budget"),
    temperature: value("temperature"),
    maxTokens: value("max-tokens"),
    tools: value("tools"),
    format: value("format"),
    schema: value("schema"),
  }),
});

$("composer").addEventListener("submit", (ev) => {
  ev.preventDefault();
  if (chat.busy) return;
  const text = message.value.trim();
  const images = takeImages(attachments);
  if (!text && images.length === 0) return;
  message.value = "";
  chat.send(text, images);
});
message.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    $<HTMLFormElement>("composer").requestSubmit();
  }
});
stop.addEventListener("click", () => chat.stop());
regenerate.addEventListener("click", () => chat.regenerate());
$("clear").addEventListener("click", () => {
  chat.clear();
  regenerate.disabled = true;
});
$("tools-example").addEventListener("click", () => {
  $<HTMLTextAreaElement>("tools").value = JSON.stringify(EXAMPLE_TOOLS, null, 2);
});
wireImages($<HTMLInputElement>("image-picker"), $("composer"), attachments);

async function loadModels(): Promise<void> {
  const select = $<HTMLSelectElement>("model");
  const res = await apiFetch("/v1/models").catch(() => null);
  if (!res?.ok) {
    if (res) $("chat-error").textContent = `Cannot list models: ${await errorMessage(res)}`;
    return;
  }
  const { data } = (await res.json()) as { data: { id: string }[] };
  select.replaceChildren(
    ...data.map((m) => Object.assign(document.createElement("option"), { value: m.id, textContent: m.id })),
  );
}

function wireKey(id: string, get: () => string, set: (v: string) => void, after: () => void): void {
  const input = $<HTMLInputElement>(id);
  input.value = get();
  input.addEventListener("change", () => {
    set(input.value);
    after();
  });
}
wireKey("api-key", () => keys.api, (v) => (keys.api = v), () => {
  $("chat-error").textContent = "";
  void loadModels();
});
wireKey("admin-key", () => keys.admin, (v) => (keys.admin = v), () => void refreshFunctions());

wireFunctionForm();
startStatus($("status"));
void loadModels();
void refreshFunctions();
