// Images waiting to go with the next message: from the file picker, a paste or a drop, read as data URLs (the
// gateway's vision middleware decodes them; nothing is uploaded anywhere else).
const pending: string[] = [];

function readAsDataUrl(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}

function render(list: HTMLElement): void {
  list.replaceChildren(
    ...pending.map((url, i) => {
      const li = document.createElement("li");
      const img = Object.assign(document.createElement("img"), { src: url, alt: `image ${i + 1} to send` });
      const remove = Object.assign(document.createElement("button"), { type: "button", textContent: "Remove" });
      remove.setAttribute("aria-label", `Remove image ${i + 1}`);
      remove.addEventListener("click", () => {
        pending.splice(i, 1);
        render(list);
      });
      li.append(img, remove);
      return li;
    }),
  );
}

async function add(files: Iterable<File>, list: HTMLElement): Promise<void> {
  for (const f of files) if (f.type.startsWith("image/")) pending.push(await readAsDataUrl(f));
  render(list);
}

/** Takes the pending images (the composer sends them) and empties the list. */
export function takeImages(list: HTMLElement): string[] {
  const taken = pending.splice(0);
  render(list);
  return taken;
}

export function wireImages(picker: HTMLInputElement, dropZone: HTMLElement, list: HTMLElement): void {
  picker.addEventListener("change", async () => {
    await add(picker.files ?? [], list);
    picker.value = "";
  });
  dropZone.addEventListener("paste", (ev) => {
    const files = [...(ev.clipboardData?.files ?? [])];
    if (files.length > 0) void add(files, list);
  });
  dropZone.addEventListener("dragover", (ev) => ev.preventDefault());
  dropZone.addEventListener("drop", (ev) => {
    ev.preventDefault();
    void add(ev.dataTransfer?.files ?? [], list);
  });
}
