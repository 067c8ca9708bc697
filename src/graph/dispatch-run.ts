/**
 * RUN → ExecOp as BuildKit's dispatchRun: the command (exec form as is; shell form and heredoc scripts
 * wrapped in the stage's SHELL), `--mount` specs (values expanded in the stage environment except `from`,
 * then checked again by the frontend's parser; defaults filled in: cache id, secret/ssh targets and modes),
 * network and security modes, and the history text with the ARGs in scope (`|2 A=1 B=2 /bin/sh -c … # buildkit`).
 */
import { posix } from "node:path";
import type { RunInstruction, RunMount } from "../frontend/ast.js";
import { parseMount } from "../frontend/ast-mounts.js";
import { type CompileContext, expandAt, instructionErrorAt, type StageState, stageLabel } from "./context.js";
import { envList, proxyEnvFromBuildArgs, runArgsPrefix } from "./scope.js";
import { classifySource } from "./stages.js";
import type { ExecMount, ExecOp, SourceRef } from "./types.js";

/** The stage's SHELL, or BuildKit's default. */
export function shellOf(stage: StageState): string[] {
  const shell = stage.config.Shell;
  return Array.isArray(shell) && shell.length > 0 ? [...shell] : ["/bin/sh", "-c"];
}

/** BuildKit's parser.ParseHeredoc on the whole command: `<<EOF`, `<<-"EOF"`, `3<<EOF` and nothing else. */
const SINGLE_HEREDOC = /^[0-9]*<<-?[\t ]*("[^"]+"|'[^']+'|[^\s<"']+)$/;

interface RunCommand {
  args: string[];
  inlineFiles?: ExecOp["inlineFiles"];
}

function runCommand(ctx: CompileContext, stage: StageState, inst: RunInstruction): RunCommand {
  const cmd = inst.command;
  if (cmd.form === "exec") {
    if (cmd.heredocs.length > 0) {
      throw instructionErrorAt(ctx, inst.range, "a heredoc cannot be used with the exec (JSON) form of RUN");
    }
    return { args: cmd.args.map((a) => a.value) };
  }
  if (cmd.heredocs.length === 0) return { args: [...shellOf(stage), cmd.text] };
  const first = cmd.heredocs[0]!;
  if (SINGLE_HEREDOC.test(cmd.text.trim())) {
    if (first.content.startsWith("#!")) {
      // A script with a shebang: written as a file and run (BuildKit mounts it at /dev/pipes/).
      const path = posix.join("/dev/pipes/", first.name);
      return {
        args: [...shellOf(stage), path],
        inlineFiles: [{ path, content: first.content, mode: 0o755 }],
      };
    }
    return { args: [...shellOf(stage), first.content] };
  }
  // Several heredocs or a command around one: give the shell the whole heredoc text.
  let full = cmd.text;
  for (const h of cmd.heredocs) full += `\n${h.content}${h.name}`;
  return { args: [...shellOf(stage), full] };
}

/** Go's CSV writer quoting for one field. */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) || text.startsWith(" ") ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Expands every mount value but `from` and re-parses the spec, so expanded values are checked too. */
function expandMount(ctx: CompileContext, stage: StageState, mount: RunMount): RunMount {
  const fields = mount.fields.map((f) => {
    if (f.value === undefined) return csvField(f.key);
    const value = f.key === "from" ? f.value : expandAt(ctx, f.value, mount.range, stage.env);
    return csvField(`${f.key}=${value}`);
  });
  return parseMount(ctx.src, { value: fields.join(","), range: mount.range });
}

/** `64m`, `1g`, `512k`, `1024` → bytes (Docker's RAMInBytes: binary multiples). */
function parseSize(ctx: CompileContext, mount: RunMount, text: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(text);
  if (!m)
    throw instructionErrorAt(
      ctx,
      mount.range,
      `invalid size: ${JSON.stringify(text)}`,
      "use a size such as 64m or 1g",
    );
  const power = m[2] ? "kmgtp".indexOf(m[2].toLowerCase()) + 1 : 0;
  return Math.floor(Number(m[1]) * 1024 ** power);
}

function absTarget(ctx: CompileContext, stage: StageState, mount: RunMount, target: string): string {
  const abs = posix.normalize(posix.isAbsolute(target) ? target : posix.join("/", stage.workdir, target));
  const clean = abs.length > 1 ? abs.replace(/\/+$/, "") : abs;
  if (clean === "/")
    throw instructionErrorAt(ctx, mount.range, `invalid mount target ${JSON.stringify(clean)}`);
  return clean;
}

async function mountSource(
  ctx: CompileContext,
  stage: StageState,
  mount: RunMount,
  stageCount: number,
): Promise<SourceRef | undefined> {
  if (mount.from === undefined)
    return mount.type === "bind" ? { kind: "context", name: "context" } : undefined;
  const source = classifySource(ctx, { value: mount.from, range: mount.range }, stageCount);
  if (source.kind === "image") {
    return { kind: "image", image: await ctx.resolve(source.ref, ctx.options.platform, mount.range) };
  }
  if (source.index >= stage.index) {
    throw instructionErrorAt(
      ctx,
      mount.range,
      `cannot mount from stage ${JSON.stringify(stageLabel(ctx, source.index))} to ${JSON.stringify(stage.label)}, stage needs to be defined before current command`,
      "move that stage above this one",
    );
  }
  stage.deps.add(source.index);
  return { kind: "stage", index: source.index };
}

async function execMount(
  ctx: CompileContext,
  stage: StageState,
  written: RunMount,
  sshIndex: number,
  stageCount: number,
): Promise<ExecMount> {
  const mount = expandMount(ctx, stage, written);
  const base = { type: mount.type, readonly: mount.readonly };
  const fileInfo = (mode: number): Pick<ExecMount, "mode" | "uid" | "gid"> => ({
    mode: mount.mode ?? mode,
    uid: mount.uid ?? 0,
    gid: mount.gid ?? 0,
  });
  if (mount.type === "secret") {
    const id = mount.source ?? mount.id ?? (mount.target ? posix.basename(mount.target) : undefined);
    if (id === undefined) throw instructionErrorAt(ctx, mount.range, "one of source, target required");
    const envOnly = mount.env !== undefined && mount.target === undefined;
    const target = envOnly
      ? ""
      : absTarget(ctx, stage, mount, mount.target ?? `/run/secrets/${posix.basename(id)}`);
    return {
      ...base,
      target,
      id,
      required: mount.required ?? false,
      ...(mount.env === undefined ? {} : { env: mount.env }),
      ...fileInfo(0o400),
    };
  }
  if (mount.type === "ssh") {
    const target = absTarget(ctx, stage, mount, mount.target ?? `/run/buildkit/ssh_agent.${sshIndex}`);
    return {
      ...base,
      target,
      id: mount.id ?? "default",
      required: mount.required ?? false,
      ...fileInfo(0o600),
    };
  }
  if (mount.target === undefined || mount.target === "") {
    throw instructionErrorAt(
      ctx,
      mount.range,
      `mount type ${mount.type} requires a target`,
      "add target=/path",
    );
  }
  const target = absTarget(ctx, stage, mount, mount.target);
  if (mount.type === "tmpfs") {
    return {
      ...base,
      target,
      ...(mount.size === undefined ? {} : { size: parseSize(ctx, mount, mount.size) }),
    };
  }
  const from = await mountSource(ctx, stage, mount, stageCount);
  const out: ExecMount = { ...base, target };
  if (from) out.from = from;
  if (mount.source !== undefined || mount.type === "bind") out.source = posix.join("/", mount.source ?? "");
  if (mount.type === "cache") {
    out.id = mount.id ?? mount.target;
    out.sharing = mount.sharing ?? "shared";
    if (mount.mode !== undefined || mount.uid !== undefined || mount.gid !== undefined)
      Object.assign(out, fileInfo(0o755));
  }
  return out;
}

/** RUN: the ExecOp and its history text. */
export async function dispatchRun(
  ctx: CompileContext,
  stage: StageState,
  inst: RunInstruction,
  stageCount: number,
): Promise<{ op: ExecOp; createdBy: string }> {
  const { args, inlineFiles } = runCommand(ctx, stage, inst);
  const mounts: ExecMount[] = [];
  let sshIndex = 0;
  for (const m of inst.mounts)
    mounts.push(await execMount(ctx, stage, m, m.type === "ssh" ? sshIndex++ : 0, stageCount));
  const op: ExecOp = {
    kind: "exec",
    args,
    env: envList(stage.env),
    user: stage.user,
    cwd: stage.workdir,
    network: inst.network?.value ?? "default",
    security: inst.security?.value ?? "sandbox",
    mounts,
  };
  if (inlineFiles) op.inlineFiles = inlineFiles;
  const proxyEnv = proxyEnvFromBuildArgs(ctx.options.buildArgs);
  if (proxyEnv) op.proxyEnv = proxyEnv;
  return { op, createdBy: `RUN ${runArgsPrefix(stage)}${args.join(" ")} # buildkit` };
}
