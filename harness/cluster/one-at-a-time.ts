/** Runs jobs of one key one after another, never two at once (restarts of one component). */
export class OneAtATime<K> {
  private readonly running = new Map<K, Promise<void>>();

  /** Runs `job` once every earlier job of `key` has settled; resolves or rejects as it does. */
  run(key: K, job: () => Promise<void>): Promise<void> {
    const previous = this.running.get(key) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(job);
    this.running.set(key, next);
    void next.catch(() => {}).finally(() => {
      if (this.running.get(key) === next) this.running.delete(key);
    });
    return next;
  }
}
