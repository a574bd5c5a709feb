import { seededRandom } from '@streamloop/ml';

/**
 * A labelled stream of card transactions in which fraud depends on the card's recent history:
 * a compromised card shows a burst of large online purchases in high-risk categories within minutes,
 * far above the card's usual amount. Ground truth is known per event and published late, as in life.
 */
export interface CardTransaction {
  transaction_id: string;
  event_time: number;
  card_id: string;
  merchant_id: string;
  merchant_category: string;
  amount: number;
  currency: string;
  country: string;
  is_online: boolean;
  device_id: string | null;
}

export interface LabelledTransaction {
  event: CardTransaction;
  label: 0 | 1;
}

export interface CardStreamOptions {
  seed?: number;
  events: number;
  cards?: number;
  merchants?: number;
  /** Event time of the first transaction (ms). */
  startTime?: number;
  /** Mean simulated time between two transactions over all cards (ms). */
  meanGapMs?: number;
  /** Chance that a given transaction starts a fraud burst on its card. */
  compromiseRate?: number;
  /** From the event with this index on, amounts are multiplied and spending shifts online: a world that changed. */
  drift?: { fromIndex: number; amountFactor: number; onlineShare: number };
  /**
   * From the event with this index on, fraudsters change their method (a concept change): a compromised card still
   * shows a burst within minutes, but of small card-present purchases in everyday categories at home, well below the
   * card's usual amount, where the bursts used to be large, online and abroad. Normal spending does not change and
   * fraud stays a few percent of the events, so the features' distributions barely move: only the labels say the old
   * model is now wrong.
   */
  conceptChange?: { fromIndex: number };
  /** From the event with this index on, each label is flipped with probability `rate`: ground truth turned noisy. */
  labelNoise?: { fromIndex: number; rate: number };
  /**
   * From the event with this index on, the payments app sends a fresh token in place of the card id on every
   * transaction (an upstream tokenization change): no card has history any more, so the features built from it are
   * missing. Fraud itself goes on as before.
   */
  tokenizedCardsFrom?: number;
  idPrefix?: string;
}

const CATEGORIES = ['grocery', 'fuel', 'restaurant', 'electronics', 'travel', 'gaming', 'other'] as const;
const NORMAL_WEIGHTS = [0.34, 0.16, 0.22, 0.06, 0.06, 0.04, 0.12];
const FRAUD_WEIGHTS = [0.03, 0.02, 0.03, 0.42, 0.18, 0.28, 0.04];
const COUNTRIES = ['NL', 'DE', 'FR', 'BE', 'ES', 'IT'];
/** After a concept change: frauds in everyday categories (grocery, fuel, restaurant), where the bursts rarely were. */
const CHANGED_FRAUD_WEIGHTS = [0.45, 0.3, 0.25, 0, 0, 0, 0];

export function generateCardTransactions(options: CardStreamOptions): LabelledTransaction[] {
  const rnd = seededRandom(options.seed ?? 42);
  const nCards = options.cards ?? 400;
  const nMerchants = options.merchants ?? 120;
  const gap = options.meanGapMs ?? 20_000;
  const compromiseRate = options.compromiseRate ?? 0.006;
  const prefix = options.idPrefix ?? 'tx';
  const normal = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const pick = <T>(items: readonly T[], weights: number[]) => {
    let u = rnd();
    for (let i = 0; i < items.length; i++) {
      u -= weights[i];
      if (u <= 0) return items[i];
    }
    return items[items.length - 1];
  };
  const cards = Array.from({ length: nCards }, (_, i) => ({
    id: `card-${String(i).padStart(5, '0')}`,
    home: COUNTRIES[Math.floor(rnd() * COUNTRIES.length)],
    // Typical spend differs a lot between cards, so "large" only means something relative to the card.
    logMean: Math.log(15 + rnd() * 60),
    onlineShare: 0.1 + rnd() * 0.3,
    device: `dev-${i}`,
    burstLeft: 0,
    burstUntil: 0,
  }));
  const out: LabelledTransaction[] = [];
  let t = options.startTime ?? Date.UTC(2026, 10, 1, 8, 0, 0);
  for (let n = 0; n < options.events; n++) {
    const drift = options.drift && n >= options.drift.fromIndex ? options.drift : undefined;
    const changed = options.conceptChange !== undefined && n >= options.conceptChange.fromIndex;
    t += Math.round(-Math.log(1 - rnd()) * gap);
    // A card in a fraud burst transacts again within minutes; otherwise any card may be next.
    const bursting = cards.filter((c) => c.burstLeft > 0 && c.burstUntil >= t);
    const card = bursting.length > 0 && rnd() < 0.5 ? bursting[Math.floor(rnd() * bursting.length)] : cards[Math.floor(rnd() * nCards)];
    if (card.burstLeft === 0 && rnd() < compromiseRate) {
      card.burstLeft = 3 + Math.floor(rnd() * 5);
      card.burstUntil = t + 45 * 60_000;
    }
    const fraud = card.burstLeft > 0;
    const amountFactor = drift?.amountFactor ?? 1;
    let amount: number;
    let category: string;
    let online: boolean;
    let country = card.home;
    let device: string | null = card.device;
    if (fraud && changed) {
      card.burstLeft--;
      amount = Math.exp(card.logMean - 1.1 + normal() * 0.3);
      category = pick(CATEGORIES, CHANGED_FRAUD_WEIGHTS);
      online = false;
    } else if (fraud) {
      card.burstLeft--;
      amount = Math.exp(card.logMean + 1.2 + Math.abs(normal()) * 0.9);
      category = pick(CATEGORIES, FRAUD_WEIGHTS);
      online = rnd() < 0.85;
      if (rnd() < 0.35) country = COUNTRIES[Math.floor(rnd() * COUNTRIES.length)];
      device = rnd() < 0.7 ? `dev-x${Math.floor(rnd() * 1e6)}` : null;
    } else {
      amount = Math.exp(card.logMean + normal() * 0.6);
      category = pick(CATEGORIES, NORMAL_WEIGHTS);
      online = rnd() < (drift?.onlineShare ?? card.onlineShare);
      if (rnd() < 0.04) country = COUNTRIES[Math.floor(rnd() * COUNTRIES.length)];
    }
    amount = Math.round(amount * amountFactor * 100) / 100;
    // A little label noise: chargebacks are not perfect ground truth.
    let label: 0 | 1 = rnd() < 0.01 ? (fraud ? 0 : 1) : fraud ? 1 : 0;
    if (options.labelNoise && n >= options.labelNoise.fromIndex && rnd() < options.labelNoise.rate) label = label === 1 ? 0 : 1;
    const tokenized = options.tokenizedCardsFrom !== undefined && n >= options.tokenizedCardsFrom;
    out.push({
      event: {
        transaction_id: `${prefix}-${String(n).padStart(7, '0')}`,
        event_time: t,
        card_id: tokenized ? `tok-${prefix}-${n}` : card.id,
        merchant_id: `m-${String(Math.floor(rnd() * nMerchants)).padStart(4, '0')}`,
        merchant_category: category,
        amount,
        currency: 'EUR',
        country,
        is_online: online,
        device_id: device,
      },
      label,
    });
  }
  return out;
}
