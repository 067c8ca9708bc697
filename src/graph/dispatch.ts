/**
 * Stage dispatch: how a stage starts (scratch, an image's config, or an earlier stage's final state, as
 * BuildKit's dispatchState.init: PATH always set, WORKDIR/USER from the config, ONBUILD cleared) and how
 * each instruction (ONBUILD triggers first) becomes a Step: the op, the config after it, the history text,
 * whether it makes a layer, and a display name like BuildKit's `[build 2/5] RUN make`.
 */
import type { Instruction } from "../frontend/ast.js";
import type { ContainerConfig, Platform } from "../image/oci-types.js";
import { type CompileContext, cloneConfig, expandAt, type StageState } from "./context.js";
import {
  type ConfigEffect,
  dispatchCmd,
  dispatchEntrypoint,
  dispatchEnv,
  dispatchExpose,
  dispatchHealthcheck,
  dispatchLabel,
  dispatchMaintainer,
  dispatchOnbuild,
  dispatchShell,
  dispatchStopsignal,
  dispatchUser,
  dispatchVolume,
  dispatchWorkdir,
  normalizeWorkdir,
} from "./dispatch-config.js";
import { dispatchCopy } from "./dispatch-copy.js";
import { dispatchRun } from "./dispatch-run.js";
import { argsInScope, declareStageArgs, envFromList, setConfigEnv } from "./scope.js";
import type { Op, Step } from "./types.js";

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** A fresh stage state on top of a config (an image's, or scratch's `{WorkingDir:"/"}`). */
export function stageFromConfig(
  index: number,
  label: string,
  platform: Platform,
  base: ContainerConfig,
): StageState {
  const config = cloneConfig(base);
  delete config.OnBuild;
  if (!envFromList(config.Env).has("PATH")) config.Env = setConfigEnv(config.Env, "PATH", DEFAULT_PATH);
  return {
    index,
    label,
    platform,
    config,
    env: envFromList(config.Env),
    buildArgs: [],
    workdir: config.WorkingDir ? normalizeWorkdir("", config.WorkingDir) : "/",
    user: config.User ?? "",
    cmdSet: false,
    steps: [],
    deps: new Set(),
  };
}

/** A stage built FROM an earlier stage: its final state (env with ARG values, declared ARGs, author). */
export function stageFromStage(
  index: number,
  label: string,
  base: StageState,
  platform?: Platform,
): StageState {
  const config = cloneConfig(base.config);
  delete config.OnBuild;
  const out: StageState = {
    index,
    label,
    platform: platform ?? base.platform,
    config,
    env: new Map(base.env),
    buildArgs: base.buildArgs.map((a) => ({ ...a })),
    workdir: base.workdir,
    user: base.user,
    cmdSet: false,
    steps: [],
    deps: new Set([base.index]),
  };
  if (base.author !== undefined) out.author = base.author;
  return out;
}

const CONFIG_OP: Op = { kind: "config" };

async function dispatchInstruction(
  ctx: CompileContext,
  stage: StageState,
  inst: Instruction,
  stageCount: number,
): Promise<{ op: Op } & ConfigEffect> {
  const env = stage.env;
  const cfg = (effect: ConfigEffect) => ({ op: CONFIG_OP, ...effect });
  switch (inst.kind) {
    case "Run": {
      const { op, createdBy } = await dispatchRun(ctx, stage, inst, stageCount);
      return { op, createdBy, emptyLayer: false };
    }
    case "Copy":
    case "Add": {
      const { op, createdBy } = await dispatchCopy(ctx, stage, inst, stageCount);
      return { op, createdBy, emptyLayer: false };
    }
    case "Env":
      return cfg(dispatchEnv(ctx, stage, inst));
    case "Label":
      return cfg(dispatchLabel(ctx, stage, inst));
    case "User":
      return cfg(dispatchUser(stage, expandAt(ctx, inst.user.value, inst.user.range, env)));
    case "Workdir":
      return cfg(dispatchWorkdir(ctx, stage, inst));
    case "Expose":
      return cfg(dispatchExpose(ctx, stage, inst));
    case "Volume":
      return cfg(dispatchVolume(ctx, stage, inst));
    case "Stopsignal":
      return cfg(dispatchStopsignal(ctx, stage, inst));
    case "Healthcheck":
      return cfg(dispatchHealthcheck(stage, inst));
    case "Shell":
      return cfg(
        dispatchShell(
          stage,
          inst.shell.map((s) => s.value),
        ),
      );
    case "Cmd":
      return cfg(dispatchCmd(stage, inst));
    case "Entrypoint":
      return cfg(dispatchEntrypoint(stage, inst));
    case "Maintainer":
      return cfg(dispatchMaintainer(stage, inst.maintainer.value));
    case "Onbuild":
      return cfg(dispatchOnbuild(stage, inst.expression));
    case "Arg":
      return cfg({ createdBy: declareStageArgs(ctx, stage, inst), emptyLayer: true });
    case "From":
      throw new Error("FROM inside a stage");
  }
}

/** `RUN make` with the keyword upper-cased, as BuildKit names a step. */
function displayText(inst: Instruction): string {
  const text = inst.original.trim();
  const space = text.search(/\s/);
  return space < 0 ? text.toUpperCase() : `${text.slice(0, space).toUpperCase()}${text.slice(space)}`;
}

/** Dispatches the triggers and then the instructions of a stage, appending one Step each. */
export async function dispatchStage(
  ctx: CompileContext,
  stage: StageState,
  triggers: Instruction[],
  instructions: Instruction[],
  stageCount: number,
): Promise<void> {
  const all = [
    ...triggers.map((inst) => ({ inst, onbuild: true })),
    ...instructions.map((inst) => ({ inst, onbuild: false })),
  ];
  for (const { inst, onbuild } of all) {
    const effect = await dispatchInstruction(ctx, stage, inst, stageCount);
    const step: Step = {
      id: `${stage.index}.${stage.steps.length}`,
      name: `${onbuild ? "ONBUILD " : ""}${displayText(inst)}`,
      createdBy: effect.createdBy,
      location: inst.range,
      op: effect.op,
      config: cloneConfig(stage.config),
      emptyLayer: effect.emptyLayer,
      args: Object.fromEntries(argsInScope(stage)),
    };
    if (effect.mkdir !== undefined) step.mkdir = effect.mkdir;
    if (effect.noHistory) step.noHistory = true;
    if (onbuild) step.onbuild = true;
    if (stage.author !== undefined) step.author = stage.author;
    stage.steps.push(step);
  }
  const total = stage.steps.length;
  const width = String(total).length;
  const prefix = stageCount > 1 ? `${stage.label} ` : "";
  stage.steps.forEach((step, i) => {
    step.name = `[${prefix}${String(i + 1).padStart(width)}/${total}] ${step.name}`;
  });
}
