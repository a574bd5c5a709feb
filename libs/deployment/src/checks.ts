import { describeSettings, featureStageTopics, loadSettings, topicsFor, type PipelineSpec } from '@streamloop/config';
import { featureStages } from '@streamloop/features';
import { streamGroupId } from '@streamloop/stream';
import type { K8sObject } from './kubernetes';
import { targetsOf } from './targets';
import type { Workload } from './workload';

/**
 * Variables the image itself reads besides the platform's settings: deploy/docker/healthcheck.mjs's URL (a process that
 * runs only the schema registry has no /health on PORT).
 */
export const IMAGE_VARIABLES: Record<string, string> = {
  STREAMLOOP_HEALTHCHECK_URL: 'the URL the image\'s HEALTHCHECK GETs (default http://127.0.0.1:$PORT/health)',
};

/**
 * What is wrong with the workloads as a process would start them, each problem naming the workload and the variable or
 * argument: a variable that is no setting of libs/config (a typo is silently ignored by the platform otherwise), a
 * value the settings schema refuses, a command that is not `start --target` of known targets.
 */
export function checkWorkloads(workloads: Workload[], knownTargets: readonly string[]): string[] {
  const settings = new Set<string>(describeSettings().map((s) => s.name));
  const problems: string[] = [];
  for (const w of workloads) {
    for (const name of Object.keys(w.env)) {
      if (settings.has(name) || name in IMAGE_VARIABLES) continue;
      if (w.podFields.includes(name)) {
        if (!Object.values(w.env).some((v) => v.includes(`$(${name})`) && v !== `$(${name})`)) problems.push(`${w.name}: ${name} (from the pod) is used by no other variable as $(${name})`);
        continue;
      }
      problems.push(`${w.name}: environment variable ${name} is not a Streamloop setting (see docs/pipeline-spec.md#service-settings-environment)${suggest(name, settings)}`);
    }
    const podValues = Object.fromEntries(w.podFields.map((f) => [f, '10.0.0.1']));
    const env = Object.fromEntries(Object.entries(w.env).filter(([k]) => !w.podFields.includes(k))
      .map(([k, v]) => [k, v.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, f: string) => podValues[f] ?? whole)]));
    try {
      loadSettings(env);
    } catch (error) {
      problems.push(`${w.name}: ${(error as Error).message}`);
    }
    const targets = targetsOf(w.args);
    if (!targets) problems.push(`${w.name}: command ${JSON.stringify(w.args)} is not "start --target …"`);
    else if (targets.length === 0) problems.push(`${w.name}: --target has no value`);
    else {
      const unknown = targets.filter((t) => t !== 'all' && !knownTargets.includes(t));
      if (unknown.length > 0) problems.push(`${w.name}: unknown target(s) ${unknown.join(', ')} in ${JSON.stringify(w.args)}; expected all or some of ${knownTargets.join(', ')}`);
    }
  }
  return problems;
}

function suggest(name: string, known: Set<string>): string {
  const close = [...known].filter((k) => distance(k, name) <= 2);
  return close.length > 0 ? `; did you mean ${close.join(' or ')}?` : '';
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length]![b.length]!;
}

/** A Kafka consumer group a stream stage of a target reads with, on its input topic. */
export interface StageGroup {
  target: string;
  pipeline: string;
  group: string;
  topic: string;
  partitions: number;
}

/** The consumer groups of the scalable stream stages (ingestion, features, inference) of these pipelines. */
export function stageGroups(specs: PipelineSpec[]): StageGroup[] {
  const groups: StageGroup[] = [];
  for (const spec of specs) {
    const topics = topicsFor(spec);
    const partitions = spec.events.partitions;
    const add = (target: string, stage: string, topic: string) => groups.push({ target, pipeline: spec.pipeline, group: streamGroupId(stage, topic), topic, partitions });
    add('ingestion', 'ingestion', topics.raw);
    for (const stage of featureStages(spec)) add('features', 'features', featureStageTopics(topics, stage).input);
    add('inference', 'inference', topics.features);
  }
  return groups;
}

/**
 * The KEDA ScaledObjects against the stages they scale: every Deployment running a stream stage has one; its Kafka
 * triggers are exactly the stage's consumer groups on their topics (a wrong group name scales on a group nobody
 * commits to); maxReplicaCount equals the topic's partitions (more members than partitions sit idle).
 */
export function checkScaledObjects(objects: K8sObject[], workloads: Workload[], specs: PipelineSpec[]): string[] {
  const problems: string[] = [];
  const expected = stageGroups(specs);
  const scaled = objects.filter((o) => o.kind === 'ScaledObject');
  for (const w of workloads) {
    const targets = targetsOf(w.args) ?? [];
    const mine = expected.filter((g) => targets.includes(g.target) || targets.includes('all'));
    if (mine.length === 0) continue;
    const so = scaled.find((o) => o.spec?.scaleTargetRef?.name === w.name);
    if (!so) {
      problems.push(`Deployment ${w.name} runs ${mine.map((g) => g.group).join(', ')} but no ScaledObject scales it`);
      continue;
    }
    const triggers = ((so.spec.triggers ?? []) as Array<{ type: string; metadata?: Record<string, string> }>).filter((t) => t.type === 'kafka');
    for (const t of triggers) {
      const group = t.metadata?.consumerGroup;
      const match = mine.find((g) => g.group === group);
      if (!match) problems.push(`ScaledObject ${so.metadata.name}: consumerGroup ${group} is no group of ${w.name}'s stages; expected one of ${mine.map((g) => g.group).join(', ')}`);
      else if (t.metadata?.topic !== match.topic) problems.push(`ScaledObject ${so.metadata.name}: group ${group} reads topic ${match.topic}, the trigger names ${t.metadata?.topic}`);
    }
    for (const g of mine) {
      if (!triggers.some((t) => t.metadata?.consumerGroup === g.group)) problems.push(`ScaledObject ${so.metadata.name}: no kafka trigger on consumer group ${g.group} (topic ${g.topic})`);
    }
    const partitions = Math.min(...mine.map((g) => g.partitions));
    if (so.spec.maxReplicaCount !== partitions) problems.push(`ScaledObject ${so.metadata.name}: maxReplicaCount ${so.spec.maxReplicaCount}, expected ${partitions} (the partitions of ${mine.map((g) => g.topic).join(', ')})`);
  }
  for (const so of scaled) {
    const name = so.spec?.scaleTargetRef?.name;
    if (!workloads.some((w) => w.name === name)) problems.push(`ScaledObject ${so.metadata.name}: scaleTargetRef ${name} is no Deployment of the image`);
  }
  return problems;
}
