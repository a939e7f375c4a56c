// Device buffers with explicit lifetimes: dispose() (or `using`) frees native memory right away.
// A buffer may instead borrow host memory (CPU backend, memory-mapped weights): then it keeps the
// host view alive and disposing it frees nothing.

export interface DeviceBuffer extends Disposable {
  /** Native address; only ffi/ passes it on, model code never does arithmetic on it. */
  readonly ptr: number;
  readonly byteLength: number;
  readonly isDisposed: boolean;
  dispose(): void;
}

export class NativeBuffer implements DeviceBuffer {
  #ptr: number;
  #free: ((ptr: number) => void) | null;
  readonly byteLength: number;
  /** Keeps borrowed host memory reachable for as long as the buffer is. */
  readonly owner: unknown;

  constructor(ptr: number, byteLength: number, free: ((ptr: number) => void) | null, owner?: unknown) {
    this.#ptr = ptr;
    this.byteLength = byteLength;
    this.#free = free;
    this.owner = owner;
  }

  get ptr(): number {
    if (this.#ptr === 0) throw new Error("Use of a disposed device buffer: keep the buffer alive until its last use.");
    return this.#ptr;
  }

  get isDisposed(): boolean {
    return this.#ptr === 0;
  }

  dispose(): void {
    if (this.#ptr === 0) return;
    this.#free?.(this.#ptr);
    this.#ptr = 0;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
