// `npm run bench:drift:statistics`: which drift statistic, at its default threshold, stays quiet on a stationary
// stream with per-entity windowed aggregates and speaks on a shifted one, and what the aggregates' warm-up changes.
// A seeded card stream (one event every 20 s, CARDS cards, lognormal amounts, a merchant category of 5 values) with
// the features the monitoring service sees: amount, the card's count and mean amount over the last 6 h, the category.
// The reference is the training part [0, 20 h) (as the stored sample: every event) or the same part after the 6 h
// warm-up [6 h, 20 h); the current window (--window hours) slides over days 2–3. Shifted streams: amounts × 1.5 and
// 10 % of purchases moved from grocery to electronics from 48 h on. Prints, per statistic and threshold, the share of
// stationary windows that alarm (false alarms) and of shifted windows after the shift that alarm (detections).
// A mild shift (amounts × 1.2, 5 % moved) shows which statistics still see a small change.
// Options: --seeds N (default 5), --cards N (default 300), --window H (default 4), --reference H (hours of training
// part after the warm-up, default 14: [6 h, 20 h)).
import { parseArgs } from 'node:util';
import { chiSquareTest, jensenShannonDistance, jensenShannonFromCounts, ksTest, psi, wasserstein1 } from '@streamloop/drift';
import { categoricalCounts } from '@streamloop/drift-sql';
import { gaussian, seededRandom } from '@streamloop/ml';

const { values: args } = parseArgs({ options: {
  seeds: { type: 'string', default: '5' }, cards: { type: 'string', default: '300' }, window: { type: 'string', default: '4' }, reference: { type: 'string', default: '14' },
} });
const SEEDS = Number(args.seeds), CARDS = Number(args.cards), WINDOW_H = Number(args.window), REFERENCE_H = Number(args.reference);
const H = 3_600_000;
const AGGREGATE_WINDOW = 6 * H, GAP = 20_000, END = 72 * H, SHIFT_AT = 48 * H, TRAIN_END = AGGREGATE_WINDOW + REFERENCE_H * H, WINDOW = WINDOW_H * H;
/** Shares of grocery, restaurant, electronics, gaming, travel. */
const SHARES = [0.4, 0.25, 0.15, 0.1, 0.1];
/** After the shift: amounts times `factor`, category shares. */
const SHIFTS = {
  strong: { factor: 1.5, shares: [0.3, 0.25, 0.25, 0.1, 0.1] },
  mild: { factor: 1.2, shares: [0.35, 0.25, 0.2, 0.1, 0.1] },
} as const;
type Shift = keyof typeof SHIFTS;

interface Event { t: number; amount: number; count_6h: number; mean_6h: number; category: number }

function stream(seed: number, shift: Shift | null): Event[] {
  const rnd = seededRandom(seed);
  const normal = gaussian(rnd);
  const history = new Map<number, Array<{ t: number; amount: number }>>();
  const out: Event[] = [];
  for (let t = 0; t < END; t += GAP) {
    const after = shift !== null && t >= SHIFT_AT ? SHIFTS[shift] : undefined;
    const card = Math.floor(rnd() * CARDS);
    const amount = Math.exp(3 + 0.8 * normal()) * (after?.factor ?? 1);
    const shares = after?.shares ?? SHARES;
    let u = rnd(), category = 0;
    while (category < shares.length - 1 && u >= shares[category]) u -= shares[category++];
    // The card's state after this event over the last 6 h, as the features service computes it.
    const h = (history.get(card) ?? []).filter((e) => e.t > t - AGGREGATE_WINDOW);
    h.push({ t, amount });
    history.set(card, h);
    out.push({ t, amount, count_6h: h.length, mean_6h: h.reduce((s, e) => s + e.amount, 0) / h.length, category });
  }
  return out;
}

function std(xs: number[]): number {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, v) => a + (v - m) ** 2, 0) / xs.length);
}

const NUMERIC = ['amount', 'count_6h', 'mean_6h'] as const;
interface Rule { name: string; alarm(ref: number[], cur: number[]): boolean }
const NUMERIC_RULES: Rule[] = [
  { name: 'KS p < 0.05', alarm: (r, c) => ksTest(r, c).pValue < 0.05 },
  { name: 'Wasserstein/σ > 0.1', alarm: (r, c) => wasserstein1(r, c) / Math.max(std(r), 0.001) > 0.1 },
  { name: 'PSI > 0.2', alarm: (r, c) => psi(r, c).value > 0.2 },
  { name: 'JS (10 bins) > 0.1', alarm: (r, c) => jensenShannonDistance(r, c) > 0.1 },
];
function shares(ref: number[], cur: number[]): [number[], number[]] {
  const r = categoricalCounts(ref), c = categoricalCounts(cur);
  const names = [...new Set([...r.keys(), ...c.keys()])];
  return [names.map((n) => r.get(n) ?? 0), names.map((n) => c.get(n) ?? 0)];
}
const CATEGORICAL_RULES: Rule[] = [
  { name: 'chi² p < 0.05', alarm: (r, c) => chiSquareTest(categoricalCounts(r), categoricalCounts(c)).pValue < 0.05 },
  { name: 'JS > 0.1', alarm: (r, c) => jensenShannonFromCounts(...shares(r, c)) > 0.1 },
];

type Tally = Map<string, { alarms: number; windows: number }>;
const tally = (t: Tally, key: string, alarm: boolean) => {
  const s = t.get(key) ?? { alarms: 0, windows: 0 };
  s.alarms += alarm ? 1 : 0;
  s.windows += 1;
  t.set(key, s);
};
const stationary: Tally = new Map();
const detected: Record<Shift, Tally> = { strong: new Map(), mild: new Map() };
const REFERENCES = [{ name: 'training sample', from: 0 }, { name: 'after warm-up', from: AGGREGATE_WINDOW }];
const t0 = process.hrtime.bigint();
for (let seed = 1; seed <= SEEDS; seed++) {
  for (const shift of [null, 'strong', 'mild'] as const) {
    const events = stream(seed, shift);
    for (const reference of REFERENCES) {
      const ref = events.filter((e) => e.t >= reference.from && e.t < TRAIN_END);
      // Non-overlapping windows from day 2 on; on a shifted stream only the windows wholly after the shift count.
      for (let end = 24 * H + WINDOW; end <= END; end += WINDOW) {
        const start = end - WINDOW;
        if (shift && start < SHIFT_AT) continue;
        const cur = events.filter((e) => e.t >= start && e.t < end);
        const into = shift ? detected[shift] : stationary;
        for (const f of NUMERIC) {
          for (const rule of NUMERIC_RULES) tally(into, `${reference.name}|${f}|${rule.name}`, rule.alarm(ref.map((e) => e[f]), cur.map((e) => e[f])));
        }
        for (const rule of CATEGORICAL_RULES) tally(into, `${reference.name}|category|${rule.name}`, rule.alarm(ref.map((e) => e.category), cur.map((e) => e.category)));
      }
    }
  }
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`bench:drift:statistics — ${new Date().toISOString().slice(0, 10)}, node ${process.version}; ${SEEDS} seeds, ${CARDS} cards, one event every ${GAP / 1000} s, aggregates over 6 h, current window ${WINDOW_H} h (${(WINDOW / GAP).toLocaleString('en')} events), reference [0 or 6 h, ${TRAIN_END / H} h) (${(TRAIN_END / GAP).toLocaleString('en')} or ${((TRAIN_END - AGGREGATE_WINDOW) / GAP).toLocaleString('en')} events); ${seconds.toFixed(1)} s`);
console.log('windows alarming: stationary stream (false alarms) / after a strong shift / after a mild shift (detections)');
const rows = [['reference', 'feature', 'statistic', 'stationary', 'strong', 'mild']];
for (const [key, s] of stationary) {
  const [reference, feature, statistic] = key.split('|');
  const share = (t: { alarms: number; windows: number }) => `${t.alarms}/${t.windows}`;
  rows.push([reference, feature, statistic, share(s), share(detected.strong.get(key)!), share(detected.mild.get(key)!)]);
}
const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
for (const r of rows) console.log(r.map((c, j) => (j < 3 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  '));
