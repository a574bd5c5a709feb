/**
 * Explanations at serve time, read back out of the ONNX graph a model was published as, so that every model the
 * platform has ever exported can be explained from its registry record alone:
 *
 *   features ─ [Imputer] ─ [Scaler] ─ [Concat of that one tensor] ─ LinearClassifier | TreeEnsembleClassifier
 *
 * (what exportOnnx, exportGbdtOnnx and exportPreprocessedOnnx write for numeric inputs). The preprocessing nodes are
 * replayed in float32 as onnxruntime runs them, and the head becomes:
 *   - LinearClassifier (one coefficient row, LOGISTIC): contribution_j = coefficient_j × standardized value_j (the
 *     value after imputation and scaling); expected value = the intercept (the margin of a row at the training means,
 *     where every standardized value is 0);
 *   - TreeEnsembleClassifier (one class weight per leaf, LOGISTIC): exact path-dependent TreeSHAP (tree-shap.ts) on
 *     the imputed row; expected value = base value + each tree's cover-weighted mean leaf. The cover comes from the
 *     graph's `tree_node_counts` metadata (written by every export since it exists, the same counts the training
 *     side uses), else from routing the registry record's reference sample (training rows, row-aligned) through the
 *     trees — older models, whose values then are TreeSHAP under that sample's cover.
 * In both cases Σ contributions = margin − expected value, the margin being the log-odds of the positive class
 * computed here in float64 from the graph's float32 parameters (onnxruntime sums in float32, so sigmoid(margin)
 * matches its score up to float32 rounding).
 *
 * Anything else (a model trained elsewhere, categorical or hashed inputs, other operators) has no explainer: the
 * builder throws NoExplainerError with the reason.
 */
import onnxProto from 'onnx-proto';
import type { onnx as P } from 'onnx-proto';
import { TREE_NODE_COUNTS_METADATA } from '../gbdt/onnx';
import type { GbdtTree } from '../gbdt';
import { TreeShapExplainer } from './tree-shap';

const { onnx } = onnxProto;

export type ExplainMethod = 'tree_shap' | 'linear';

export interface RowExplanation {
  /** Log-odds of the positive class for the row. */
  margin: number;
  /** One per feature, in featureNames order; they sum to margin − expectedValue. */
  contributions: Float64Array;
}

/** A model's explainer, built once per loaded model and used for any number of rows. */
export interface ModelExplainer {
  readonly method: ExplainMethod;
  readonly featureNames: readonly string[];
  /** The margin with no feature known: where the contributions start from. */
  readonly expectedValue: number;
  /** Explains one row of raw model inputs (featureNames order, NaN = missing), rounded to float32 as onnxruntime reads them. */
  explainRow(row: ArrayLike<number>): RowExplanation;
}

/** The model cannot be explained; the message says why (e.g. an external ONNX model). */
export class NoExplainerError extends Error {
  override readonly name = 'NoExplainerError';
}

export interface ExplainerFromOnnxOptions {
  /** The names of the input's columns (the registry record's feature_names). */
  featureNames: readonly string[];
  /**
   * Per feature, a row-aligned sample of training values (the registry record's `reference`): the cover of trees
   * exported without `tree_node_counts`.
   */
  reference?: Readonly<Record<string, ArrayLike<number>>>;
}

/** The top contributions of one explanation by absolute value, largest first (k ≤ 0: none). */
export function topContributions(featureNames: readonly string[], contributions: ArrayLike<number>, k: number): Array<{ feature: string; value: number }> {
  if (!(k > 0)) return [];
  const order = Array.from({ length: contributions.length }, (_, j) => j);
  order.sort((a, b) => Math.abs(contributions[b]) - Math.abs(contributions[a]) || a - b);
  return order.slice(0, k).map((j) => ({ feature: featureNames[j], value: contributions[j] }));
}

type Step = (row: Float64Array) => void;

const decoder = new TextDecoder();
const num = (v: number | { toNumber(): number } | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

class Attributes {
  private readonly byName = new Map<string, P.IAttributeProto>();
  constructor(private readonly node: P.INodeProto) {
    for (const a of node.attribute ?? []) this.byName.set(a.name ?? '', a);
  }
  has(name: string): boolean {
    return this.byName.has(name);
  }
  floats(name: string, fallback?: number[]): number[] {
    const a = this.byName.get(name);
    if (!a) return this.missing(name, fallback);
    return (a.floats ?? []).map(Number);
  }
  ints(name: string, fallback?: number[]): number[] {
    const a = this.byName.get(name);
    if (!a) return this.missing(name, fallback);
    return (a.ints ?? []).map(num);
  }
  strings(name: string, fallback?: string[]): string[] {
    const a = this.byName.get(name);
    if (!a) return this.missing(name, fallback);
    return (a.strings ?? []).map((s) => decoder.decode(s));
  }
  string(name: string, fallback: string): string {
    const a = this.byName.get(name);
    return a?.s ? decoder.decode(a.s) : fallback;
  }
  float(name: string, fallback: number): number {
    const a = this.byName.get(name);
    return a && a.f != null ? Number(a.f) : fallback;
  }
  int(name: string, fallback: number): number {
    const a = this.byName.get(name);
    return a && a.i != null ? num(a.i) : fallback;
  }
  private missing<T>(name: string, fallback: T | undefined): T {
    if (fallback === undefined) throw new NoExplainerError(`node '${this.node.name ?? this.node.opType}' (${this.node.opType}) has no attribute '${name}'`);
    return fallback;
  }
}

/** Per-column values of an attribute: d values, or one broadcast to all. */
function perColumn(values: number[], d: number, what: string): Float64Array {
  if (values.length === d) return Float64Array.from(values);
  if (values.length === 1) return new Float64Array(d).fill(values[0]);
  throw new NoExplainerError(`${what} has ${values.length} values for ${d} columns`);
}

function imputerStep(a: Attributes, d: number): Step {
  if (a.has('imputed_value_int64s') && !a.has('imputed_value_floats')) throw new NoExplainerError('an integer Imputer is not supported');
  const values = perColumn(a.floats('imputed_value_floats'), d, 'Imputer imputed_value_floats').map(Math.fround);
  const replaced = a.float('replaced_value_float', 0);
  const isReplaced = Number.isNaN(replaced) ? (x: number) => Number.isNaN(x) : (x: number) => x === replaced;
  return (row) => {
    for (let j = 0; j < d; j++) if (isReplaced(row[j])) row[j] = values[j];
  };
}

function scalerStep(a: Attributes, d: number): Step {
  const offset = perColumn(a.floats('offset', [0]), d, 'Scaler offset').map(Math.fround);
  const scale = perColumn(a.floats('scale', [1]), d, 'Scaler scale').map(Math.fround);
  return (row) => {
    for (let j = 0; j < d; j++) row[j] = Math.fround(Math.fround(row[j] - offset[j]) * scale[j]);
  };
}

class Preprocessing {
  constructor(readonly width: number, private readonly steps: Step[]) {}

  /** The row the model head reads: float32 input, then each preprocessing node. */
  apply(row: ArrayLike<number>): Float64Array {
    if (row == null || row.length !== this.width) throw new RangeError(`explainRow: row has ${row?.length} values, expected ${this.width}`);
    const out = Float64Array.from(row, (v) => Math.fround(v));
    for (const step of this.steps) step(out);
    return out;
  }
}

class LinearExplainer implements ModelExplainer {
  readonly method = 'linear';
  readonly expectedValue: number;

  constructor(readonly featureNames: readonly string[], private readonly pre: Preprocessing, private readonly coefficients: Float64Array, intercept: number) {
    this.expectedValue = intercept;
  }

  explainRow(row: ArrayLike<number>): RowExplanation {
    const z = this.pre.apply(row);
    const contributions = new Float64Array(z.length);
    let margin = this.expectedValue;
    for (let j = 0; j < z.length; j++) {
      contributions[j] = this.coefficients[j] * z[j];
      margin += contributions[j];
    }
    return { margin, contributions };
  }
}

class TreeExplainer implements ModelExplainer {
  readonly method = 'tree_shap';
  readonly expectedValue: number;
  private readonly shap: TreeShapExplainer;

  constructor(readonly featureNames: readonly string[], private readonly pre: Preprocessing, private readonly trees: GbdtTree[], private readonly baseline: number) {
    this.shap = new TreeShapExplainer({ baseline, trees, featureNames: [...featureNames] });
    this.expectedValue = this.shap.expectedValue;
  }

  explainRow(row: ArrayLike<number>): RowExplanation {
    const x = this.pre.apply(row);
    let margin = this.baseline;
    for (const t of this.trees) margin += t.value[leafOf(t, x)];
    return { margin, contributions: this.shap.explainRow(x) };
  }
}

/** The leaf a row reaches (NaN follows missingGoesLeft; x ≤ threshold goes left, as BRANCH_LEQ). */
function leafOf(t: GbdtTree, x: ArrayLike<number>): number {
  let k = 0;
  while (t.feature[k] >= 0) {
    const v = x[t.feature[k]];
    k = (Number.isNaN(v) ? t.missingGoesLeft[k] : v <= t.threshold[k]) ? t.left[k] : t.right[k];
  }
  return k;
}

function linearHead(a: Attributes, d: number): { coefficients: Float64Array; intercept: number } {
  const coefficients = a.floats('coefficients');
  const intercepts = a.floats('intercepts', [0]);
  const labels = a.has('classlabels_ints') ? a.ints('classlabels_ints') : null;
  const post = a.string('post_transform', 'NONE');
  if (coefficients.length !== d || intercepts.length !== 1 || post !== 'LOGISTIC' || !labels || labels.length !== 2) {
    throw new NoExplainerError(`LinearClassifier is not a binary logistic model with one coefficient row over ${d} columns (${coefficients.length} coefficients, ${intercepts.length} intercepts, post_transform ${post})`);
  }
  return { coefficients: Float64Array.from(coefficients), intercept: intercepts[0] };
}

interface RawTree {
  /** ONNX node id → the node's attributes position. */
  nodes: Map<number, number>;
  /** ONNX node id → leaf value. */
  leafValue: Map<number, number>;
}

/** The ensemble as GbdtTrees (nodes renumbered in preorder, so children follow their parent) and each tree's ONNX node ids in that order. */
function treeHead(a: Attributes, d: number): { trees: GbdtTree[]; ids: number[][]; treeIds: number[]; baseline: number } {
  const post = a.string('post_transform', 'NONE');
  const labels = a.has('classlabels_int64s') ? a.ints('classlabels_int64s') : null;
  const base = a.floats('base_values', [0]);
  const classIds = a.ints('class_ids');
  if (post !== 'LOGISTIC' || !labels || labels.length !== 2 || base.length !== 1 || classIds.some((c) => c !== 0)) {
    throw new NoExplainerError(`TreeEnsembleClassifier is not a binary model with one class weight per leaf and post_transform LOGISTIC (post_transform ${post}, ${base.length} base values)`);
  }
  if (a.has('nodes_values_as_tensor') || a.has('class_weights_as_tensor')) throw new NoExplainerError('tree attributes stored as tensors are not supported');
  const treeIds = a.ints('nodes_treeids'), nodeIds = a.ints('nodes_nodeids'), featureIds = a.ints('nodes_featureids');
  const modes = a.strings('nodes_modes'), values = a.floats('nodes_values'), trueIds = a.ints('nodes_truenodeids'), falseIds = a.ints('nodes_falsenodeids');
  const missing = a.ints('nodes_missing_value_tracks_true', []);
  const m = treeIds.length;
  for (const [name, list] of [['nodes_nodeids', nodeIds], ['nodes_featureids', featureIds], ['nodes_modes', modes], ['nodes_values', values], ['nodes_truenodeids', trueIds], ['nodes_falsenodeids', falseIds]] as const) {
    if (list.length !== m) throw new NoExplainerError(`TreeEnsembleClassifier: ${name} has ${list.length} entries for ${m} nodes`);
  }
  const raw = new Map<number, RawTree>();
  for (let i = 0; i < m; i++) {
    if (modes[i] !== 'LEAF' && modes[i] !== 'BRANCH_LEQ') throw new NoExplainerError(`TreeEnsembleClassifier: node mode ${modes[i]} is not supported (only BRANCH_LEQ and LEAF)`);
    if (modes[i] !== 'LEAF' && !(featureIds[i] >= 0 && featureIds[i] < d)) throw new NoExplainerError(`TreeEnsembleClassifier: a node splits on column ${featureIds[i]} of ${d}`);
    const t = raw.get(treeIds[i]) ?? { nodes: new Map(), leafValue: new Map() };
    raw.set(treeIds[i], t);
    t.nodes.set(nodeIds[i], i);
  }
  const cTrees = a.ints('class_treeids'), cNodes = a.ints('class_nodeids'), cWeights = a.floats('class_weights');
  if (cNodes.length !== cTrees.length || cWeights.length !== cTrees.length) throw new NoExplainerError('TreeEnsembleClassifier: class_* attributes differ in length');
  for (let i = 0; i < cTrees.length; i++) {
    const t = raw.get(cTrees[i]);
    if (!t || !t.nodes.has(cNodes[i])) throw new NoExplainerError(`TreeEnsembleClassifier: a class weight names tree ${cTrees[i]} node ${cNodes[i]}, which does not exist`);
    t.leafValue.set(cNodes[i], (t.leafValue.get(cNodes[i]) ?? 0) + cWeights[i]);
  }
  const trees: GbdtTree[] = [], ids: number[][] = [], order = [...raw.keys()].sort((x, y) => x - y);
  for (const tid of order) {
    const t = raw.get(tid)!;
    const children = new Set<number>();
    for (const i of t.nodes.values()) if (modes[i] !== 'LEAF') children.add(trueIds[i]).add(falseIds[i]);
    const roots = [...t.nodes.keys()].filter((id) => !children.has(id));
    if (roots.length !== 1) throw new NoExplainerError(`TreeEnsembleClassifier: tree ${tid} has ${roots.length} roots`);
    const tree: GbdtTree = { feature: [], threshold: [], missingGoesLeft: [], left: [], right: [], value: [], gain: [], count: [] };
    const treeNodeIds: number[] = [];
    // Preorder: a node's index is taken before its children's.
    const visit = (id: number, depth: number): number => {
      const i = t.nodes.get(id);
      if (i === undefined) throw new NoExplainerError(`TreeEnsembleClassifier: tree ${tid} refers to node ${id}, which does not exist`);
      if (depth > t.nodes.size) throw new NoExplainerError(`TreeEnsembleClassifier: tree ${tid} has a cycle`);
      const k = treeNodeIds.length;
      treeNodeIds.push(id);
      const leaf = modes[i] === 'LEAF';
      tree.feature.push(leaf ? -1 : featureIds[i]);
      tree.threshold.push(leaf ? 0 : values[i]);
      tree.missingGoesLeft.push(!leaf && missing[i] === 1);
      tree.value.push(leaf ? (t.leafValue.get(id) ?? 0) : 0);
      tree.gain.push(0);
      tree.count.push(0);
      tree.left.push(-1);
      tree.right.push(-1);
      if (!leaf) {
        tree.left[k] = visit(trueIds[i], depth + 1);
        tree.right[k] = visit(falseIds[i], depth + 1);
      }
      return k;
    };
    visit(roots[0], 0);
    trees.push(tree);
    ids.push(treeNodeIds);
  }
  return { trees, ids, treeIds: order, baseline: base[0] };
}

/** Sets each node's cover from the metadata (per ONNX tree id and node id); false when it is absent or does not fit. */
function coverFromMetadata(json: string | undefined, trees: GbdtTree[], ids: number[][], treeIds: number[]): boolean {
  if (json === undefined) return false;
  let counts: unknown;
  try {
    counts = JSON.parse(json);
  } catch {
    return false;
  }
  if (!Array.isArray(counts)) return false;
  for (const [ti, tree] of trees.entries()) {
    const c = counts[treeIds[ti]];
    if (!Array.isArray(c)) return false;
    for (const [k, id] of ids[ti].entries()) {
      const v = c[id];
      if (typeof v !== 'number' || !(v >= 0)) return false;
      tree.count[k] = v;
    }
  }
  return true;
}

/** Sets each node's cover by routing sample rows (already preprocessed) through the trees. */
function coverFromRows(rows: Float64Array[], trees: GbdtTree[]): void {
  for (const t of trees) {
    for (const x of rows) {
      let k = 0;
      t.count[k] += 1;
      while (t.feature[k] >= 0) {
        const v = x[t.feature[k]];
        k = (Number.isNaN(v) ? t.missingGoesLeft[k] : v <= t.threshold[k]) ? t.left[k] : t.right[k];
        t.count[k] += 1;
      }
    }
  }
}

function referenceRows(reference: ExplainerFromOnnxOptions['reference'], featureNames: readonly string[]): ArrayLike<number>[] {
  if (!reference) return [];
  const columns = featureNames.map((f) => reference[f]);
  if (columns.some((c) => !c || c.length !== columns[0].length)) return [];
  const n = columns[0]?.length ?? 0;
  return Array.from({ length: n }, (_, i) => columns.map((c) => Number(c[i])));
}

/**
 * Builds the explainer of a model from its ONNX bytes (one of our exports; see the file comment). Throws
 * NoExplainerError when the graph is not one it can explain.
 */
export function explainerFromOnnx(bytes: Uint8Array, opts: ExplainerFromOnnxOptions): ModelExplainer {
  const featureNames = [...opts.featureNames];
  const d = featureNames.length;
  let model: P.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new NoExplainerError(`not a valid ONNX model (${(error as Error).message})`);
  }
  const graph = model.graph;
  if (!graph) throw new NoExplainerError('the ONNX model has no graph');
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((i) => !initializers.has(i.name));
  if (inputs.length !== 1) throw new NoExplainerError(`the graph has ${inputs.length} inputs; only a single numeric input is explained`);
  const width = Number(inputs[0].type?.tensorType?.shape?.dim?.[1]?.dimValue ?? Number.NaN);
  if (width !== d) throw new NoExplainerError(`the graph's input has ${width} columns for ${d} feature names`);
  const metadata = new Map((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  const nodes = graph.node ?? [];
  const steps: Step[] = [];
  let tensor = inputs[0].name ?? '';
  for (let hops = 0; hops <= nodes.length; hops++) {
    const consumers = nodes.filter((n) => (n.input ?? []).includes(tensor));
    if (consumers.length !== 1) throw new NoExplainerError(`tensor '${tensor}' feeds ${consumers.length} nodes; expected a chain of preprocessing nodes ending in one classifier`);
    const node = consumers[0];
    const a = new Attributes(node);
    const domain = node.domain ?? '';
    const op = `${domain === '' ? '' : `${domain}.`}${node.opType}`;
    const pre = new Preprocessing(d, steps);
    switch (op) {
      case 'ai.onnx.ml.Imputer':
        steps.push(imputerStep(a, d));
        break;
      case 'ai.onnx.ml.Scaler':
        steps.push(scalerStep(a, d));
        break;
      case 'Concat':
        if ((node.input ?? []).length !== 1) throw new NoExplainerError('a Concat of several inputs (categorical or hashed columns) is not explained');
        break;
      case 'ai.onnx.ml.LinearClassifier': {
        const { coefficients, intercept } = linearHead(a, d);
        return new LinearExplainer(featureNames, pre, coefficients, intercept);
      }
      case 'ai.onnx.ml.TreeEnsembleClassifier': {
        const { trees, ids, treeIds, baseline } = treeHead(a, d);
        if (!coverFromMetadata(metadata.get(TREE_NODE_COUNTS_METADATA), trees, ids, treeIds)) {
          const rows = referenceRows(opts.reference, featureNames);
          if (rows.length === 0) throw new NoExplainerError(`the trees carry no node cover (no '${TREE_NODE_COUNTS_METADATA}' metadata) and there is no reference sample to compute it from`);
          coverFromRows(rows.map((r) => pre.apply(r)), trees);
        }
        return new TreeExplainer(featureNames, pre, trees, baseline);
      }
      default:
        throw new NoExplainerError(`operator ${op} (node '${node.name ?? ''}') is not explained`);
    }
    if ((node.output ?? []).length !== 1) throw new NoExplainerError(`node '${node.name ?? ''}' has ${(node.output ?? []).length} outputs`);
    tensor = node.output![0];
  }
  throw new NoExplainerError('the graph does not end in a classifier');
}
