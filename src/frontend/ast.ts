/**
 * The typed Dockerfile AST: one node type per instruction (a union discriminated by `kind`), each field with
 * the source range it came from, grouped into stages. It is built from the raw tree by `buildAst`
 * (ast-build.ts), which also validates every instruction the way BuildKit's instructions package does and
 * throws `InstructionError` with the range of the offending flag or argument.
 *
 * Values are as written (no variable expansion): expansion depends on build args and happens later.
 */
import type { SourceRange } from "./raw.js";

export type { SourceRange } from "./raw.js";

/** A piece of text with the range it occupies in the file. */
export interface Located<T = string> {
  value: T;
  range: SourceRange;
}

/** A flag as written on an instruction (`--from=build`), after validation against the flag's type. */
export interface AstFlag {
  name: string;
  /** `undefined` for a bool flag written without `=`. */
  value?: string;
  range: SourceRange;
}

/** An inline document (`<<EOF … EOF`). */
export interface AstHeredoc {
  name: string;
  fileDescriptor: number;
  chomp: boolean;
  /** Unquoted delimiter: the body undergoes variable expansion (COPY/ADD only). */
  expand: boolean;
  content: string;
  range: SourceRange;
}

/** The command of RUN, CMD, ENTRYPOINT and HEALTHCHECK CMD. */
export type AstCommand =
  | { form: "exec"; args: Located[]; heredocs: AstHeredoc[]; range: SourceRange }
  | { form: "shell"; text: string; heredocs: AstHeredoc[]; range: SourceRange };

interface InstructionBase {
  /** The keyword as written (`Run`, `FROM`). */
  keyword: string;
  keywordRange: SourceRange;
  /** The whole instruction (continuation lines included, heredoc bodies excluded). */
  range: SourceRange;
  /** Every flag written on the instruction, in order. */
  flags: AstFlag[];
  /** The logical line, as BuildKit's Node.Original. */
  original: string;
  /** Comment lines directly above the instruction. */
  comments: string[];
}

export interface FromInstruction extends InstructionBase {
  kind: "From";
  image: Located;
  platform?: Located;
  /** Lower-cased stage name; `range` covers the name as written. */
  stageName?: Located;
  /** The name exactly as written (case kept), for lint rules. */
  stageNameAsWritten?: string;
  /** The `AS` keyword as written. */
  asKeyword?: Located;
}

export type MountType = "bind" | "cache" | "tmpfs" | "secret" | "ssh";

/** One `--mount=` spec of RUN, parsed from its CSV form. Values are as written (expanded at build time). */
export interface RunMount {
  type: MountType;
  /** Stage, image or context to mount from (bind, cache); never expanded. */
  from?: string;
  source?: string;
  target?: string;
  readonly: boolean;
  /** Cache id, secret id or ssh id. */
  id?: string;
  sharing?: "shared" | "private" | "locked";
  required?: boolean;
  /** Secret exposed as this environment variable. */
  env?: string;
  /** tmpfs size, as written (e.g. `64m`). */
  size?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  /** The keys as written, with their values, in order (for tools that need the exact spec). */
  fields: Array<{ key: string; value?: string }>;
  range: SourceRange;
}

export interface RunInstruction extends InstructionBase {
  kind: "Run";
  mounts: RunMount[];
  network?: Located<"default" | "none" | "host">;
  security?: Located<"sandbox" | "insecure">;
  devices: Located[];
  command: AstCommand;
}

export interface CmdInstruction extends InstructionBase {
  kind: "Cmd";
  command: AstCommand;
}

export interface EntrypointInstruction extends InstructionBase {
  kind: "Entrypoint";
  command: AstCommand;
}

export interface ShellInstruction extends InstructionBase {
  kind: "Shell";
  shell: Located[];
}

/** A `key=value` (or legacy `key value`) pair of ENV or LABEL. */
export interface KeyValuePair {
  key: Located;
  value: Located;
  /** Written as `ENV key value` rather than `ENV key=value`. */
  legacy: boolean;
  range: SourceRange;
}

export interface LabelInstruction extends InstructionBase {
  kind: "Label";
  pairs: KeyValuePair[];
}

export interface EnvInstruction extends InstructionBase {
  kind: "Env";
  pairs: KeyValuePair[];
}

export interface MaintainerInstruction extends InstructionBase {
  kind: "Maintainer";
  maintainer: Located;
}

export interface ExposeInstruction extends InstructionBase {
  kind: "Expose";
  ports: Located[];
}

/** A COPY/ADD source: a path (glob, URL, git ref) or an inline heredoc file. */
export type CopySource =
  | { type: "path"; path: Located }
  | { type: "heredoc"; heredoc: AstHeredoc; range: SourceRange };

interface CopyLikeFields {
  chown?: Located;
  chmod?: Located;
  link: boolean;
  excludes: Located[];
  sources: CopySource[];
  dest: Located;
  heredocs: AstHeredoc[];
  /** Args came from a JSON array. */
  json: boolean;
}

export interface CopyInstruction extends InstructionBase, CopyLikeFields {
  kind: "Copy";
  from?: Located;
  parents: boolean;
}

export interface AddInstruction extends InstructionBase, CopyLikeFields {
  kind: "Add";
  keepGitDir: boolean;
  checksum?: Located;
  /** `undefined` when `--unpack` was not given (the default depends on the source). */
  unpack?: boolean;
}

export interface VolumeInstruction extends InstructionBase {
  kind: "Volume";
  paths: Located[];
}

export interface UserInstruction extends InstructionBase {
  kind: "User";
  user: Located;
}

export interface WorkdirInstruction extends InstructionBase {
  kind: "Workdir";
  path: Located;
}

/** One `name[=default]` of an ARG instruction. */
export interface ArgDeclaration {
  name: Located;
  /** The default as written; `undefined` when there is no `=`. */
  defaultValue?: Located;
  range: SourceRange;
}

export interface ArgInstruction extends InstructionBase {
  kind: "Arg";
  args: ArgDeclaration[];
}

export interface OnbuildInstruction extends InstructionBase {
  kind: "Onbuild";
  trigger: Instruction;
  /** The trigger text as stored in the image config (the original line minus `ONBUILD`). */
  expression: string;
}

export interface StopsignalInstruction extends InstructionBase {
  kind: "Stopsignal";
  signal: Located;
}

/** Durations are milliseconds; 0 means "not set" (inherit the default), as in the image config. */
export interface HealthcheckCmd {
  type: "cmd";
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
  /** 0 means "not set". */
  retries: number;
  command: AstCommand;
}

export interface HealthcheckInstruction extends InstructionBase {
  kind: "Healthcheck";
  check: { type: "none" } | HealthcheckCmd;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | ShellInstruction
  | LabelInstruction
  | MaintainerInstruction
  | ExposeInstruction
  | EnvInstruction
  | AddInstruction
  | CopyInstruction
  | VolumeInstruction
  | UserInstruction
  | WorkdirInstruction
  | ArgInstruction
  | OnbuildInstruction
  | StopsignalInstruction
  | HealthcheckInstruction;

export type InstructionKind = Instruction["kind"];

/** A build stage: its FROM and the instructions after it, up to the next FROM. */
export interface Stage {
  /** 0-based position; `COPY --from=0` refers to it. */
  index: number;
  from: FromInstruction;
  /** Lower-cased stage name, if the FROM has `AS name`. */
  name?: string;
  instructions: Instruction[];
}

export interface DockerfileAst {
  file: string;
  escapeChar: "\\" | "`";
  directives: Array<{ name: string; value: string; range: SourceRange }>;
  /** ARG instructions before the first FROM. */
  globalArgs: ArgInstruction[];
  stages: Stage[];
}
