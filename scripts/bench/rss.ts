/**
 * Resident memory. The kernel keeps the process's peak (getrusage ru_maxrss); a sampler gives the
 * peak within one phase of the bench (every `everyMs`, so a spike shorter than that can be missed).
 */
const MB = 1024 * 1024;

/** The process's peak resident set since it started, MB. */
export function processPeakRssMb(): number {
  // ru_maxrss is in kilobytes on Linux.
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

export class RssSampler {
  private peak = 0;
  private timer?: NodeJS.Timeout;

  start(everyMs = 100): this {
    this.peak = process.memoryUsage.rss();
    this.timer = setInterval(() => {
      this.peak = Math.max(this.peak, process.memoryUsage.rss());
    }, everyMs);
    this.timer.unref();
    return this;
  }

  /** Stops sampling; the peak seen, MB. */
  stop(): number {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
    return Math.round(this.peak / MB);
  }
}
