import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PlatformStatus } from '@streamloop/runtime';
import { formatStatus } from './status-command';

test('the status table: targets, models, drift, DLQ and one lag row per stage and topic', () => {
  const status: PlatformStatus = {
    targets: ['ingestion', 'features', 'inference'], brokers: ['127.0.0.1:9092'], at: '2026-12-04T15:00:00.000Z', problems: ['model registry streamloop.models: timed out'],
    pipelines: [{
      pipeline: 'fraud',
      stages: [
        { stage: 'ingestion', topic: 'fraud.events.raw', group: 'streamloop-ingestion-fraud.events.raw', lag: 0, partitions: 3 },
        { stage: 'inference', topic: 'fraud.features', group: 'streamloop-inference-fraud.features', lag: 1204, partitions: 3, fused_into: 'features' },
      ],
      champion: { model_name: 'fraud-lr', model_version: 2, algorithm: 'logistic_regression', roc_auc: 0.93 },
      challenger: null,
      drift: { window_start: '2026-12-04 14:00:00.000', window_end: '2026-12-04 15:00:00.000', computed_at: '2026-12-04 15:00:01.000', verdict: 'drift', drifted: ['amount', '__error__'], statistics: 40 },
      dlq: { topic: 'fraud.events.dlq', offsets: 5, stored: 4 },
    }],
  };
  const text = formatStatus(status);
  assert.match(text, /^targets   ingestion, features, inference$/m);
  assert.match(text, /^ {2}champion {4}fraud-lr v2 \(logistic_regression, held-out ROC AUC 0\.930\)$/m);
  assert.match(text, /^ {2}challenger {2}none$/m);
  assert.match(text, /^ {2}drift {7}drift in amount, __error__ \(window 2026-12-04 14:00:00\.000 – 2026-12-04 15:00:00\.000, 40 statistics\)$/m);
  assert.match(text, /^ {2}DLQ {9}fraud\.events\.dlq: 5 offsets, 4 rows in ClickHouse$/m);
  assert.match(text, /^ {2}ingestion +fraud\.events\.raw +0 +3 +streamloop-ingestion-fraud\.events\.raw$/m);
  assert.match(text, /^ {2}inference +fraud\.features +1204 +3 +streamloop-inference-fraud\.features \(runs in the features transaction; offsets commit lazily\)$/m);
  assert.match(text, /^problems\n {2}model registry streamloop\.models: timed out$/m);
});
