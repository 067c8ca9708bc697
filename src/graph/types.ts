/**
 * The build graph: what `compileGraph` (graph/compile.ts) makes of a Dockerfile AST, build args, a target
 * and a platform, and what the solver (executor/solver.ts) runs. Every value here is final: variables are
 * expanded, base images are resolved to a manifest digest, stage references are indexes. Cache keys are
 * NOT here: they need content digests of the context and of other stages' results, so the solver computes
 * them from these ops (cache/key.ts). Everything is plain data (JSON-serialisable) so `gantry graph` can print it.
 */
import type { SourceRange } from "../frontend/ast.js";
import type { ContainerConfig, Platform } from "../image/oci-types.js";
import type { Descriptor, Digest } from "../image/store-types.js";

/** An image a stage starts from or a file op / mount reads from, resolved before the build runs. */
export interface ResolvedImage {
  /** The reference as written after expansion (`busybox`, `localhost/gantry/busybox:latest`). */
  ref: string;
  /** Repository in the local store (`library/busybox`), see image/reference.ts. */
  repository: string;
  /** Digest of the platform-specific image manifest (never an index): the FROM cache key. */
  manifestDigest: Digest;
  /** The manifest's layers, bottom first. */
  layers: Descriptor[];
  /** diff_ids of the layers, same order. */
  diffIds: Digest[];
  /** The image's container config (Env, User, WorkingDir, OnBuild, …) and platform. */
  config: ContainerConfig;
  platform: Platform;
  /** The image's history, kept so the built image's history starts with it. */
  history: Array<{ created?: string; created_by?: string; comment?: string; empty_layer?: boolean }>;
}

/**
 * Finds an image by reference for a platform: the local store first, then (unless the caller forbids
 * network) the registry. Implemented by the build command on top of image/ and client/.
 */
export type ImageResolver = (ref: string, platform: Platform) => Promise<ResolvedImage>;

/** Where a COPY/ADD or a bind/cache mount reads from. */
export type SourceRef =
  | { kind: "context"; name: "context" }
  /** The final filesystem of another stage of this build. */
  | { kind: "stage"; index: number }
  | { kind: "image"; image: ResolvedImage }
  | { kind: "scratch" };

export interface ExecMount {
  type: "bind" | "cache" | "tmpfs" | "secret" | "ssh";
  /** Absolute path in the container. */
  target: string;
  /** bind/cache `from=`: context (default for bind), a stage, or an image. */
  from?: SourceRef;
  /** Path inside `from` (bind, cache) or secret/ssh source id default. */
  source?: string;
  readonly: boolean;
  /** cache id (default: target), secret id, ssh id (default "default"). */
  id?: string;
  sharing?: "shared" | "private" | "locked";
  required?: boolean;
  /** Secret exposed as an environment variable instead of (or as well as) a file. */
  env?: string;
  /** tmpfs size in bytes. */
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
}

/** RUN. */
export interface ExecOp {
  kind: "exec";
  /** Final argv: shell form already wrapped in the stage's SHELL (`["/bin/sh","-c","…"]`). */
  args: string[];
  /** The full environment, `KEY=value`, in order: image Env + ENV + ARGs in scope (as BuildKit does). */
  env: string[];
  /** USER as written in the config (`""` = root); names are resolved in the rootfs at run time. */
  user: string;
  /** Absolute working directory (created if missing). */
  cwd: string;
  network: "default" | "none" | "host";
  security: "sandbox" | "insecure";
  mounts: ExecMount[];
  /**
   * Heredoc files of a RUN heredoc (`RUN <<EOF`), already folded into args where BuildKit does so. A single
   * heredoc whose body starts with `#!` is written read-only at `/dev/pipes/<name>` (mode 0755) and run
   * through the shell; the runtime provides these files, they never end up in the layer.
   */
  inlineFiles?: Array<{ path: string; content: string; mode: number }>;
  /**
   * Proxy variables from build args (`HTTP_PROXY`…, both spellings), added to the process environment only:
   * never in the image config, the history or the cache key (as BuildKit's llb.WithProxy).
   */
  proxyEnv?: string[];
}

export type CopySourceSpec =
  /** A path or wildcard pattern relative to the source root (context or stage/image root). */
  | { kind: "path"; pattern: string }
  /** An inline file: `COPY <<EOF dest`. `content` is already expanded when the delimiter is unquoted. */
  | { kind: "heredoc"; name: string; content: string }
  /** `ADD https://…` */
  | { kind: "url"; url: string }
  /** `ADD git@…` / `https://….git#ref` */
  | { kind: "git"; url: string; ref?: string; subdir?: string };

/** COPY and ADD. */
export interface CopyOp {
  kind: "copy";
  instruction: "COPY" | "ADD";
  from: SourceRef;
  sources: CopySourceSpec[];
  /** As written after expansion; relative to `workdir` when not absolute; a trailing `/` matters. */
  dest: string;
  /** The stage's WORKDIR at this point (absolute). */
  workdir: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  parents: boolean;
  excludes: string[];
  /** ADD only: `--checksum` for URL sources. */
  checksum?: string;
  /** ADD only: `--unpack`; undefined = Docker's default (local tars are unpacked, URLs are not). */
  unpack?: boolean;
  keepGitDir?: boolean;
}

/** A metadata-only instruction (ENV, LABEL, CMD, …, WORKDIR's config part): changes the config only. */
export interface ConfigOp {
  kind: "config";
}

export type Op = ExecOp | CopyOp | ConfigOp;

/** One instruction of a stage, in order. */
export interface Step {
  /** Stable id within the graph: `<stage index>.<step index>` (`1.3`). */
  id: string;
  /** What a user sees: `[build 2/5] RUN make` (stage name or index, position, original text). */
  name: string;
  /** The instruction as BuildKit's history records it (`RUN /bin/sh -c make # buildkit`). */
  createdBy: string;
  location: SourceRange;
  op: Op;
  /** The container config after this step. */
  config: ContainerConfig;
  /**
   * WORKDIR also creates its directory (mode 0755, parents too, owned by the step's USER): a WORKDIR step
   * with `mkdir` carries this absolute path. Such a step has `emptyLayer: false`, as BuildKit records it;
   * whether it really adds files (the directory may already exist) is for the executor to find out. WORKDIR /
   * has no `mkdir` and is an empty layer.
   */
  mkdir?: string;
  /** True when the step produces no layer (history `empty_layer`). */
  emptyLayer: boolean;
  /** True when BuildKit writes no history entry for the step (ONBUILD only changes config.OnBuild). */
  noHistory?: boolean;
  /** The step is an ONBUILD trigger of the base image / base stage, run at the start of this stage. */
  onbuild?: boolean;
  /** The image author (MAINTAINER) in effect after this step, when one was set in this build. */
  author?: string;
  /**
   * Build args and env values this step's result depends on that are not visible in `op` (e.g. ARGs in
   * scope for RUN are in `op.env`; this records ARG values for explain-cache), name → value.
   */
  args: Record<string, string>;
}

export interface StageNode {
  index: number;
  /** Lower-cased `AS` name. */
  name?: string;
  platform: Platform;
  base: SourceRef;
  /** The config the stage starts with (the base image's, or empty for scratch / another stage's final). */
  baseConfig: ContainerConfig;
  steps: Step[];
  /** Indexes of stages this one needs (base stage, COPY --from, RUN --mount from). */
  dependsOn: number[];
  /**
   * The stage is not reachable from the target: it was not compiled and its base never resolved. Only
   * `index`, `name` and `platform` mean anything; `steps` is empty and `base` is a placeholder scratch.
   */
  skipped?: boolean;
}

export interface BuildGraph {
  /** Every stage of the Dockerfile, `stages[i].index === i`; those not in `order` are `skipped`. */
  stages: StageNode[];
  /** Index of the stage whose result is the image. */
  target: number;
  /** Stages reachable from the target, in an order where dependencies come first. */
  order: number[];
  /** Build args that were given but never declared (BuildKit warns about them). */
  unusedBuildArgs: string[];
}

export interface CompileOptions {
  buildArgs: Record<string, string>;
  /** Stage name or index; default the last stage. */
  target?: string;
  /** Target platform; default the host's. */
  platform: Platform;
  /** Platform of the build machine (BUILDPLATFORM). */
  buildPlatform: Platform;
  resolveImage: ImageResolver;
  /** The Dockerfile's physical lines (RawDockerfile.lines), so errors can show the line and a caret. */
  sourceLines?: string[];
}
