/**
 * COPY and ADD → CopyOp as BuildKit's dispatchCopy: where the files come from (context, an earlier stage,
 * an image resolved for the target platform), sources expanded (paths; heredoc bodies only with an unquoted
 * delimiter, with quotes kept; URLs and git refs for ADD), destination and --chown/--chmod/--checksum
 * expanded, --exclude kept as written, and the history text (`COPY --chown=1:1 src <<EOF /dest # buildkit`).
 */
import type { AddInstruction, CopyInstruction } from "../frontend/ast.js";
import { type CompileContext, expandAt, instructionErrorAt, type StageState, stageLabel } from "./context.js";
import { classifySource } from "./stages.js";
import type { CopyOp, CopySourceSpec, SourceRef } from "./types.js";

const SYMBOLIC_MODE = /^[ugoa]*(?:[-+=](?:[rwxXst]*|[ugo]))+(?:,[ugoa]*(?:[-+=](?:[rwxXst]*|[ugo]))+)*$/;

/** A git source as dfgitutil.ParseGitRef recognises it: scp-like, git://, ssh://, or an http(s) URL to `….git`. */
export function gitSource(src: string): { url: string; ref?: string; subdir?: string } | undefined {
  const hash = src.indexOf("#");
  const url = hash < 0 ? src : src.slice(0, hash);
  const fragment = hash < 0 ? "" : src.slice(hash + 1);
  const isGit =
    /^[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+:/.test(url) ||
    /^(git|ssh):\/\//.test(url) ||
    (/^https?:\/\//.test(url) && /\.git\/?$/.test(url.replace(/\?.*$/, "")));
  if (!isGit) return undefined;
  const [ref, subdir] = fragment === "" ? [] : fragment.split(":", 2);
  const out: { url: string; ref?: string; subdir?: string } = { url };
  if (ref) out.ref = ref;
  if (subdir) out.subdir = subdir;
  return out;
}

function isHttpSource(src: string): boolean {
  return /^https?:\/\//.test(src) && gitSource(src) === undefined;
}

async function copySource(
  ctx: CompileContext,
  stage: StageState,
  inst: CopyInstruction | AddInstruction,
  stageCount: number,
): Promise<SourceRef> {
  if (inst.kind !== "Copy" || !inst.from) return { kind: "context", name: "context" };
  const source = classifySource(ctx, inst.from, stageCount);
  if (source.kind === "image") {
    return { kind: "image", image: await ctx.resolve(source.ref, ctx.options.platform, inst.from.range) };
  }
  if (source.index >= stage.index) {
    throw instructionErrorAt(
      ctx,
      inst.from.range,
      `cannot copy from stage ${JSON.stringify(stageLabel(ctx, source.index))}, it needs to be defined before current stage ${JSON.stringify(stage.label)}`,
      "move that stage above this one",
    );
  }
  stage.deps.add(source.index);
  return { kind: "stage", index: source.index };
}

/** COPY / ADD: the CopyOp and its history text. */
export async function dispatchCopy(
  ctx: CompileContext,
  stage: StageState,
  inst: CopyInstruction | AddInstruction,
  stageCount: number,
): Promise<{ op: CopyOp; createdBy: string }> {
  const isAdd = inst.kind === "Add";
  const name = isAdd ? "ADD" : "COPY";
  const from = await copySource(ctx, stage, inst, stageCount);
  const sources: CopySourceSpec[] = [];
  const paths: string[] = [];
  const heredocNames: string[] = [];
  for (const s of inst.sources) {
    if (s.type === "heredoc") {
      const h = s.heredoc;
      const content = h.expand
        ? expandAt(ctx, h.content, s.range, stage.env, { escape: "\\", skipProcessQuotes: true })
        : h.content;
      sources.push({ kind: "heredoc", name: h.name, content });
      heredocNames.push(h.name);
      continue;
    }
    const path = expandAt(ctx, s.path.value, s.path.range, stage.env);
    paths.push(path);
    const git = gitSource(path);
    if (git || isHttpSource(path)) {
      if (!isAdd) {
        throw instructionErrorAt(
          ctx,
          s.path.range,
          git ? "source can't be a git ref for COPY" : "source can't be a URL for COPY",
          "use ADD to fetch remote sources",
        );
      }
      sources.push(git ? { kind: "git", ...git } : { kind: "url", url: path });
    } else {
      sources.push({ kind: "path", pattern: path });
    }
  }
  const dest = expandAt(ctx, inst.dest.value, inst.dest.range, stage.env);
  const op: CopyOp = {
    kind: "copy",
    instruction: name,
    from,
    sources,
    dest,
    workdir: stage.workdir,
    link: inst.link,
    parents: inst.kind === "Copy" ? inst.parents : false,
    excludes: inst.excludes.map((e) => e.value),
  };
  if (inst.chown) op.chown = expandAt(ctx, inst.chown.value, inst.chown.range, stage.env);
  if (inst.chmod) {
    const chmod = expandAt(ctx, inst.chmod.value, inst.chmod.range, stage.env);
    const octal = /^[0-7]+$/.test(chmod);
    if (
      (octal && Number.parseInt(chmod, 8) > 0o7777) ||
      (!octal && (/^[0-9]/.test(chmod) || !SYMBOLIC_MODE.test(chmod)))
    ) {
      throw instructionErrorAt(
        ctx,
        inst.chmod.range,
        `invalid chmod parameter: '${chmod}'. it should be octal string and between 0 and 07777`,
        "use an octal mode such as 0755, or a symbolic one such as u+x",
      );
    }
    op.chmod = chmod;
  }
  if (inst.kind === "Add") {
    if (inst.checksum) {
      const checksum = expandAt(ctx, inst.checksum.value, inst.checksum.range, stage.env);
      if (inst.sources.length !== 1) {
        throw instructionErrorAt(
          ctx,
          inst.checksum.range,
          "checksum can't be specified for multiple sources",
        );
      }
      if (sources[0]!.kind !== "url" && sources[0]!.kind !== "git") {
        throw instructionErrorAt(ctx, inst.checksum.range, "checksum requires HTTP(S) or Git sources");
      }
      op.checksum = checksum;
    }
    if (inst.unpack !== undefined) op.unpack = inst.unpack;
    if (inst.keepGitDir) op.keepGitDir = true;
  }
  let createdBy = name;
  if (op.parents) createdBy += " --parents";
  if (op.chown !== undefined) createdBy += ` --chown=${op.chown}`;
  if (op.chmod !== undefined) createdBy += ` --chmod=${op.chmod}`;
  for (const p of paths) createdBy += ` ${p}`;
  for (const h of heredocNames) createdBy += ` <<${h}`;
  createdBy += ` ${dest} # buildkit`;
  return { op, createdBy };
}
