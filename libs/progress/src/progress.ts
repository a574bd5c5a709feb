/** Where progress goes: a terminal (one line rewritten in place) or anything else (plain lines). */
export interface ProgressStream {
  write(text: string): unknown;
  /** True on a terminal: one updating line. Otherwise plain lines, at most one per task every `plainIntervalMs`. */
  isTTY?: boolean;
  /** The terminal's width: an updating line is cut to it (a wrapped line could not be rewritten). */
  columns?: number;
}

/** Receives each plain progress line instead of a stream: a service's logger (info), say. */
export type ProgressSink = (line: string, fields: { task: string; done: number; total?: number; finished: boolean }) => void;

export interface ProgressReporterOptions {
  /** The terminal or file (default: process.stderr, so stdout stays the command's answer). */
  stream?: ProgressStream;
  /** Plain lines go here instead of a stream (services: their logger). */
  sink?: ProgressSink;
  /** Least time between two plain lines of one task (its start and finish are always written). Default 5 s. */
  plainIntervalMs?: number;
  /** Least time between two rewrites of the terminal line. Default 100 ms. */
  ttyIntervalMs?: number;
  now?: () => number;
}

/** One piece of long work: a count of steps done (of a total when known) and what is being done now. */
export interface ProgressTask {
  update(done: number, detail?: string): void;
  /** One more step done (or n). */
  tick(detail?: string, n?: number): void;
  /** Done (with its final count when given): its last line, kept (on a terminal, the updating line becomes a permanent one). */
  finish(detail?: string, done?: number): void;
}

/**
 * `name: done/total (pct%) detail, elapsed` — the text of one progress line. A task without a total shows its count
 * once it has one (a wait shows only its detail and how long it has waited).
 */
export function progressLine(name: string, done: number, total: number | undefined, detail: string | undefined, elapsedMs: number): string {
  const count = total !== undefined && total > 0 ? `${done}/${total} (${Math.floor((100 * Math.min(done, total)) / total)}%)` : done > 0 ? `${done}` : '';
  const seconds = elapsedMs >= 1000 ? `${(elapsedMs / 1000).toFixed(0)} s` : '';
  const text = [count, detail].filter(Boolean).join(' ');
  return `${name}:${text ? ` ${text}` : ''}${seconds ? `${text ? ',' : ''} ${seconds}` : ''}`;
}

/**
 * Progress of long work for people. On a terminal: one line rewritten in place (throttled), left in place when the
 * task finishes; `line()` prints a permanent line above it. Anywhere else (a pipe, a file, CI, a service's log): plain
 * lines, the first and last of each task always, between them at most one every `plainIntervalMs`.
 */
export class ProgressReporter {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly plainIntervalMs: number;
  private readonly ttyIntervalMs: number;
  /** The text now on the terminal's updating line ('' when none). */
  private shown = '';

  constructor(private readonly options: ProgressReporterOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.tty = options.sink === undefined && this.stream.isTTY === true;
    this.now = options.now ?? Date.now;
    this.plainIntervalMs = options.plainIntervalMs ?? 5000;
    this.ttyIntervalMs = options.ttyIntervalMs ?? 100;
  }

  /** Whether progress rewrites one terminal line (else it writes plain lines). */
  get interactive(): boolean {
    return this.tty;
  }

  /** A permanent line (a phase, a result): above the updating line on a terminal, a plain line otherwise. */
  line(text: string): void {
    if (this.tty) {
      const pending = this.shown;
      this.clear();
      this.stream.write(`${text}\n`);
      if (pending) this.draw(pending);
    } else if (this.options.sink) {
      this.options.sink(text, { task: '', done: 0, finished: true });
    } else this.stream.write(`${text}\n`);
  }

  /** Starts a task (its first line is written now, with `detail` when given). */
  task(name: string, total?: number, firstDetail?: string): ProgressTask {
    const started = this.now();
    let done = 0;
    let detail: string | undefined = firstDetail;
    let lastWritten = Number.NEGATIVE_INFINITY;
    let finished = false;
    const text = () => progressLine(name, done, total, detail, this.now() - started);
    const emit = (force: boolean) => {
      if (finished) return;
      const at = this.now();
      if (this.tty) {
        if (!force && at - lastWritten < this.ttyIntervalMs) return;
        lastWritten = at;
        this.draw(text());
        return;
      }
      if (!force && at - lastWritten < this.plainIntervalMs) return;
      lastWritten = at;
      this.plain(text(), { task: name, done, total, finished: false });
    };
    emit(true);
    return {
      update: (n, d) => {
        done = n;
        if (d !== undefined) detail = d;
        emit(false);
      },
      tick: (d, n = 1) => {
        done += n;
        if (d !== undefined) detail = d;
        emit(false);
      },
      finish: (d, n) => {
        if (finished) return;
        if (d !== undefined) detail = d;
        if (n !== undefined) done = n;
        const last = text();
        finished = true;
        if (this.tty) {
          this.clear();
          this.stream.write(`${last}\n`);
        } else this.plain(last, { task: name, done, total, finished: true });
      },
    };
  }

  private plain(line: string, fields: Parameters<ProgressSink>[1]): void {
    if (this.options.sink) this.options.sink(line, fields);
    else this.stream.write(`${line}\n`);
  }

  private draw(text: string): void {
    const width = this.stream.columns && this.stream.columns > 1 ? this.stream.columns - 1 : undefined;
    const cut = width !== undefined && text.length > width ? `${text.slice(0, width - 1)}…` : text;
    // Carriage return, erase the line, write: the cursor stays on it for the next rewrite.
    this.stream.write(`\r\x1b[2K${cut}`);
    this.shown = text;
  }

  private clear(): void {
    if (this.shown) this.stream.write('\r\x1b[2K');
    this.shown = '';
  }
}
