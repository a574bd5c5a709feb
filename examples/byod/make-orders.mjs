// A labelled stream for docs/byod.md: 3,000 orders of 400 customers over three days, ending a day ago, and each
// order's outcome (returned or not) decided 1-6 hours after it. The last third comes from a changed world: bigger
// baskets, more invoice payments, and invoice orders returned more often. Deterministic (seeded), so the guide's
// numbers repeat.
//   node examples/byod/make-orders.mjs DIR   writes DIR/events-000.json ... (JSON arrays of 250 orders, in time order) and
//   DIR/outcomes-000.jsonl ... (the outcomes of the orders of the events file with the same number)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node examples/byod/make-orders.mjs DIR');
  process.exit(2);
}
let seed = 20261203;
const random = () => {
  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
const pick = (weights) => {
  let r = random() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < weights.length; i++) if ((r -= weights[i]) < 0) return i;
  return weights.length - 1;
};

const ORDERS = 3000;
const HOUR = 3_600_000;
const end = Math.floor(Date.now() / HOUR) * HOUR - 24 * HOUR;
const start = end - 72 * HOUR;
const seen = new Set();
const events = [];
const outcomes = [];
for (let i = 0; i < ORDERS; i++) {
  const changed = i >= ORDERS * (2 / 3);
  const customer = `c-${String(Math.floor(random() ** 1.5 * 400)).padStart(4, '0')}`;
  const items = 1 + pick([30, 25, 15, 10, 8, 6, 4, 2]);
  const category = 1 + pick([20, 15, 25, 10, 20, 10]);
  const payment = ['card', 'paypal', 'invoice'][pick(changed ? [35, 25, 40] : [50, 35, 15])];
  const amount = Math.round(Math.exp(3.3 + 0.6 * normal() + 0.15 * items + (changed ? 0.45 : 0)) * 100) / 100;
  const coupon = random() < 0.2 ? Math.round(amount * (0.05 + 0.15 * random()) * 100) / 100 : null;
  const first = !seen.has(customer);
  seen.add(customer);
  const order = {
    order_id: `o-${String(i).padStart(6, '0')}`,
    customer_id: customer,
    placed_at: start + Math.round(((i + random()) / ORDERS) * (end - start)),
    amount,
    items,
    category_id: category,
    payment,
    device: ['web', 'ios', 'android'][pick([50, 25, 25])],
    first_order: first,
    coupon,
  };
  // Fashion (3) and big baskets come back more often; invoices too, and much more so once the world changed.
  const logit = -2.4 + (category === 3 ? 1.3 : 0) + 0.25 * (items - 2) + (payment === 'invoice' ? (changed ? 1.6 : 0.5) : 0)
    + (first ? 0.4 : 0) + (coupon ? 0.3 : 0);
  const returned = random() < 1 / (1 + Math.exp(-logit));
  events.push(order);
  outcomes.push({ order_id: order.order_id, returned, decided_at: order.placed_at + Math.round((1 + 5 * random()) * HOUR) });
}
mkdirSync(dir, { recursive: true });
for (let b = 0; b * 250 < events.length; b++) {
  const n = String(b).padStart(3, '0');
  writeFileSync(join(dir, `events-${n}.json`), JSON.stringify(events.slice(b * 250, b * 250 + 250)));
  writeFileSync(join(dir, `outcomes-${n}.jsonl`), outcomes.slice(b * 250, b * 250 + 250).map((o) => JSON.stringify(o)).join('\n') + '\n');
}
const returned = outcomes.filter((o) => o.returned).length;
console.log(`${events.length} orders of ${seen.size} customers, ${returned} returned, in ${dir}: events-000.json … and outcomes-000.jsonl …`);
