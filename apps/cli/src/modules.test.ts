// The targets' modules resolve every constructor from the global PlatformModule alone (no register(runtime)),
// and share one instance of each provider, without a broker (nothing connects before a send or a stream starts).
import 'reflect-metadata';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadPipelineSpec, loadSettings } from '@streamloop/config';
import { OwnedFeatureState } from '@streamloop/features';
import { FeaturesModule } from '@streamloop/features-service';
import { InferenceModule, InferenceService } from '@streamloop/inference';
import { IngestionModule, IngestionService } from '@streamloop/ingestion';
import { MonitoringModule, MonitoringService } from '@streamloop/monitoring';
import { ClickHouseConnection, PipelineRegistry, PlatformModule, Runtime, SharedProducer, UnknownPipelineError } from '@streamloop/runtime';
import { TrainingModule, TrainingService } from '@streamloop/training';

const FRAUD = new URL('../../../examples/pipelines/fraud.yaml', import.meta.url).pathname;

test('ingestion, features and inference resolve from the platform providers; REST predict answers OWNER_UNAVAILABLE without feature state', async () => {
  const runtime = new Runtime({ ...loadSettings({ STREAMLOOP_PIPELINES: '', LOG_LEVEL: 'error' }), pipelineFiles: [] }, [loadPipelineSpec(FRAUD)]);
  @Module({ imports: [PlatformModule.register(runtime), IngestionModule, FeaturesModule, InferenceModule] })
  class AppModule {}
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  try {
    assert.equal(app.get(PipelineRegistry), runtime.pipelines);
    assert.equal(app.get(SharedProducer), runtime.sharedProducer);
    assert.ok(app.get(IngestionService));
    const owned = app.get(OwnedFeatureState);
    assert.equal(app.get(OwnedFeatureState), owned, 'one owned feature state per application');
    const inference = app.get(InferenceService);
    await assert.rejects(inference.predict('nope', { features: {} }), (e) => e instanceof UnknownPipelineError);
    // A model is needed before the ownership check; without one the answer is NO_MODEL_YET, with one OWNER_UNAVAILABLE:
    // no feature stage runs, so no member of the stage's group owns the event's partition (the group as Kafka would
    // describe it; there is no broker here).
    await assert.rejects(inference.predict('fraud', { event: {} }), { code: 'NO_MODEL_YET' });
    const models = inference.models as unknown as { get(p: string): unknown };
    models.get = () => ({ record: { feature_names: [], threshold: 0.5 } });
    const event = { transaction_id: 't', event_time: Date.UTC(2026, 0, 1), card_id: 'c', merchant_id: 'm', merchant_category: 'grocery', amount: 1, currency: 'EUR', country: 'NL', is_online: false, device_id: null };
    runtime.groups.owners = async (groupId) => ({ groupId, state: 'Empty', owners: new Map() });
    await assert.rejects(inference.predict('fraud', { event }), (e: { code?: string; status?: number; details?: { reason?: string } }) => e.code === 'OWNER_UNAVAILABLE' && e.status === 503 && e.details?.reason === 'no_owner');
  } finally {
    await app.close();
    await runtime.close();
  }
});

test('training and monitoring resolve from the platform providers; they share its ClickHouse connection', async () => {
  const settings = loadSettings({ STREAMLOOP_PIPELINES: '', LOG_LEVEL: 'error', CLICKHOUSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'sl-modules-chdb-')) });
  const runtime = new Runtime({ ...settings, pipelineFiles: [] }, [loadPipelineSpec(FRAUD)]);
  @Module({ imports: [PlatformModule.register(runtime), TrainingModule, MonitoringModule] })
  class AppModule {}
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  try {
    assert.equal(app.get(ClickHouseConnection), runtime.clickhouseConnection);
    await assert.rejects(async () => app.get(TrainingService).train('nope'), (e) => e instanceof UnknownPipelineError);
    const monitoring = app.get(MonitoringService);
    assert.throws(() => monitoring.lastDriftReport('nope'), (e) => e instanceof UnknownPipelineError);
    assert.equal(monitoring.lastDriftReport('fraud'), undefined, 'no report before a champion');
  } finally {
    await app.close();
    await runtime.close();
  }
});
