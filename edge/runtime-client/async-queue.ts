// A push-to-pull queue: the socket pushes events, one consumer iterates them. Ends on close() or fail().

export class AsyncQueue<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | null = null;
  #done = false;
  #error: unknown = null;
  onReturn: (() => void) | null = null;

  push(item: T): void {
    if (this.#done) return;
    const w = this.#waiter;
    if (w) {
      this.#waiter = null;
      w.resolve({ value: item, done: false });
    } else this.#items.push(item);
  }

  close(): void {
    this.#done = true;
    const w = this.#waiter;
    if (w && this.#items.length === 0) {
      this.#waiter = null;
      w.resolve({ value: undefined, done: true });
    }
  }

  fail(error: unknown): void {
    if (this.#done) return;
    this.#error = error;
    this.#done = true;
    const w = this.#waiter;
    if (w) {
      this.#waiter = null;
      w.reject(error);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.#items.length > 0) return Promise.resolve({ value: this.#items.shift()!, done: false });
        if (this.#error) return Promise.reject(this.#error);
        if (this.#done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
      },
      return: () => {
        // the consumer stopped early (client gone): let the owner abort the work behind it
        if (!this.#done) this.onReturn?.();
        this.#done = true;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
