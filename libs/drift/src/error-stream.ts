import { ADWIN, DDM, PageHinkley, type AdwinOptions, type ChangeDetector, type DdmOptions, type PageHinkleyOptions } from './detectors';

export interface ErrorStreamOptions {
  /** null or absent: that detector is off. */
  adwin?: AdwinOptions | null;
  pageHinkley?: PageHinkleyOptions | null;
  ddm?: DdmOptions | null;
  /** Every detector's warm-up (detectors.ts): no detection on its first warmUp values after a start or reset. Default 0. */
  warmUp?: number;
}

export interface ErrorStreamDetection {
  detector: 'adwin' | 'page_hinkley' | 'ddm';
  /** 0-based position of the value that raised it, counted over everything fed since the last reset. */
  index: number;
  /** Error rate of the last `recentWindow` values when it was raised. */
  recentErrorRate: number;
}

/**
 * A model's live error stream (1 = wrong prediction, 0 = right) run through ADWIN, Page-Hinkley and DDM at once,
 * as a monitor would: detections are returned as they happen, and a detector that fired starts over (River's
 * semantics, see detectors.ts), so a lasting change is reported once per detector rather than on every value.
 */
export class ErrorStreamMonitor {
  private detectors: Array<{ name: ErrorStreamDetection['detector']; detector: ChangeDetector }> = [];
  private readonly recent: number[] = [];
  private recentSum = 0;
  private fed = 0;

  constructor(private readonly options: ErrorStreamOptions, private readonly recentWindow = 500) {
    this.reset();
  }

  /** Forgets everything (e.g. when a new model starts serving: its errors are a new stream). */
  reset(): void {
    const { adwin, pageHinkley, ddm, warmUp } = this.options;
    this.detectors = [];
    // A detector's own warmUp, if given, wins over the shared one.
    if (adwin) this.detectors.push({ name: 'adwin', detector: new ADWIN({ warmUp, ...adwin }) });
    if (pageHinkley) this.detectors.push({ name: 'page_hinkley', detector: new PageHinkley({ warmUp, ...pageHinkley }) });
    if (ddm) this.detectors.push({ name: 'ddm', detector: new DDM({ warmUp, ...ddm }) });
    this.recent.length = 0;
    this.recentSum = 0;
    this.fed = 0;
  }

  get count(): number {
    return this.fed;
  }

  /** Error rate of the most recent values (NaN before any). */
  get recentErrorRate(): number {
    return this.recent.length === 0 ? Number.NaN : this.recentSum / this.recent.length;
  }

  /** Feeds errors in stream order; returns the detections they raised. */
  feed(errors: Iterable<number>): ErrorStreamDetection[] {
    const detections: ErrorStreamDetection[] = [];
    for (const e of errors) {
      if (e !== 0 && e !== 1) throw new RangeError(`ErrorStreamMonitor.feed: value ${this.fed} is ${e}, expected 0 (right) or 1 (wrong)`);
      this.recent.push(e);
      this.recentSum += e;
      if (this.recent.length > this.recentWindow) this.recentSum -= this.recent.shift()!;
      for (const { name, detector } of this.detectors) {
        detector.update(e);
        if (detector.driftDetected) detections.push({ detector: name, index: this.fed, recentErrorRate: this.recentErrorRate });
      }
      this.fed++;
    }
    return detections;
  }
}
