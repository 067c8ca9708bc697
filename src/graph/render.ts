/**
 * Printing a BuildGraph for people: Graphviz dot (one cluster per stage, a node per step, edges for the
 * step chain, FROM a stage or image, COPY --from and RUN --mount from=; stages not needed drawn dashed) and a
 * plain text outline. JSON needs no code: the graph is plain data.
 */
import { formatPlatform } from "./platform.js";
import type { BuildGraph, SourceRef, StageNode, Step } from "./types.js";

const MAX_LABEL = 72;

function clip(text: string): string {
  const one = text.replace(/\s*\n\s*/g, " ⏎ ");
  return one.length > MAX_LABEL ? `${one.slice(0, MAX_LABEL - 1)}…` : one;
}

function dotString(text: string): string {
  return `"${text.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`;
}

const shortDigest = (d: string) => d.replace(/^sha256:/, "").slice(0, 12);

function stageTitle(stage: StageNode): string {
  return stage.name ? `${stage.index}: ${stage.name}` : `${stage.index}`;
}

function baseText(graph: BuildGraph, base: SourceRef): string {
  switch (base.kind) {
    case "scratch":
      return "FROM scratch";
    case "context":
      return "context";
    case "stage":
      return `FROM stage ${stageTitle(graph.stages[base.index]!)}`;
    case "image":
      return `FROM ${base.image.ref} @${shortDigest(base.image.manifestDigest)}`;
  }
}

/** Node id of a stage's result: its last step, or its base node when it has no steps. */
function resultNode(stage: StageNode): string {
  return stage.steps.length > 0 ? stepNode(stage.index, stage.steps.length - 1) : `s${stage.index}_base`;
}

const stepNode = (stage: number, step: number) => `s${stage}_${step}`;

function stepSources(step: Step): Array<{ ref: SourceRef; mount: boolean }> {
  if (step.op.kind === "copy") return [{ ref: step.op.from, mount: false }];
  if (step.op.kind === "exec")
    return step.op.mounts.flatMap((m) => (m.from ? [{ ref: m.from, mount: true }] : []));
  return [];
}

/** Graphviz dot. */
export function graphToDot(graph: BuildGraph): string {
  const lines = [
    "digraph build {",
    "  rankdir=TB;",
    '  node [shape=box, fontname="monospace", fontsize=10];',
    "  edge [fontsize=9];",
  ];
  const external: string[] = [];
  const edges: string[] = [];
  for (const stage of graph.stages) {
    const skipped = stage.skipped === true;
    const target = stage.index === graph.target;
    lines.push(`  subgraph cluster_${stage.index} {`);
    const label = `stage ${stageTitle(stage)}${target ? " (target)" : ""}${skipped ? " (not needed)" : ""} ${formatPlatform(stage.platform)}`;
    lines.push(`    label=${dotString(label)};`);
    lines.push(`    style=${skipped ? "dashed" : target ? "bold" : "solid"};`);
    lines.push(
      `    s${stage.index}_base [shape=ellipse, label=${dotString(skipped ? "not compiled" : baseText(graph, stage.base))}];`,
    );
    let prev = `s${stage.index}_base`;
    stage.steps.forEach((step, i) => {
      const id = stepNode(stage.index, i);
      const style = step.emptyLayer ? ", style=dashed" : "";
      lines.push(`    ${id} [label=${dotString(clip(step.name))}${style}];`);
      edges.push(`  ${prev} -> ${id};`);
      prev = id;
      for (const { ref, mount } of stepSources(step)) {
        const attrs = mount ? ' [style=dashed, label="mount"]' : ' [label="copy"]';
        if (ref.kind === "stage") edges.push(`  ${resultNode(graph.stages[ref.index]!)} -> ${id}${attrs};`);
        if (ref.kind === "image") {
          const node = `img_${shortDigest(ref.image.manifestDigest)}`;
          if (!external.some((l) => l.startsWith(`  ${node} `))) {
            external.push(`  ${node} [shape=ellipse, label=${dotString(ref.image.ref)}];`);
          }
          edges.push(`  ${node} -> ${id}${attrs};`);
        }
      }
    });
    lines.push("  }");
    if (stage.base.kind === "stage" && !skipped) {
      edges.push(`  ${resultNode(graph.stages[stage.base.index]!)} -> s${stage.index}_base [label="FROM"];`);
    }
  }
  return `${[...lines, ...external, ...edges, "}"].join("\n")}\n`;
}

/** A plain outline: stages in build order, their steps, what was left out. */
export function graphToText(graph: BuildGraph): string {
  const out: string[] = [];
  for (const index of graph.order) {
    const stage = graph.stages[index]!;
    const deps = stage.dependsOn.length > 0 ? `  needs ${stage.dependsOn.join(", ")}` : "";
    out.push(
      `stage ${stageTitle(stage)}${index === graph.target ? " (target)" : ""}  ${formatPlatform(stage.platform)}  ${baseText(graph, stage.base)}${deps}`,
    );
    for (const step of stage.steps) out.push(`  ${clip(step.name)}${step.emptyLayer ? "" : "  [layer]"}`);
  }
  const skipped = graph.stages.filter((s) => s.skipped).map(stageTitle);
  if (skipped.length > 0) out.push(`not needed for the target: ${skipped.join(", ")}`);
  if (graph.unusedBuildArgs.length > 0) out.push(`unused build args: ${graph.unusedBuildArgs.join(", ")}`);
  return `${out.join("\n")}\n`;
}
