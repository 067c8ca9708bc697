/**
 * ARG/ENV scoping for lint rules, as BuildKit's dispatcher sees it without build args: the global scope
 * (global ARG defaults + predefined platform args) used by FROM, and for every instruction of every stage
 * the environment and declared build args in effect before it runs. A stage based on an earlier stage
 * inherits that stage's environment; an external image is assumed to define only PATH.
 */
import type { DockerfileAst, Instruction } from "../ast.js";
import { expandWord, type VarSource } from "../shell/index.js";

/** Go's GOARCH for the host, for the predefined TARGET and BUILD platform args. */
function hostArch(): string {
  const map: Record<string, string> = {
    x64: "amd64",
    ia32: "386",
    arm64: "arm64",
    arm: "arm",
    ppc64: "ppc64le",
    s390x: "s390x",
  };
  return map[process.arch] ?? process.arch;
}

/** The predefined platform args with the values a build on this host would give them. */
export function predefinedPlatformArgs(): Map<string, string> {
  const arch = hostArch();
  const env = new Map<string, string>();
  for (const prefix of ["TARGET", "BUILD"]) {
    env.set(`${prefix}PLATFORM`, `linux/${arch}`);
    env.set(`${prefix}OS`, "linux");
    env.set(`${prefix}ARCH`, arch);
    env.set(`${prefix}VARIANT`, "");
  }
  return env;
}

/** Build args every build accepts without an ARG declaration. */
export const PROXY_ARGS: ReadonlySet<string> = new Set(
  ["HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY"].flatMap((n) => [n, n.toLowerCase()]),
);

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** What is defined just before an instruction runs. */
export interface InstructionScope {
  /** Environment (ENV, ARG values) before the instruction. */
  env: Map<string, string>;
  /** Names declared by ARG in this stage (or the stages it builds on), with or without a value. */
  args: Set<string>;
  /** Index of the stage the instruction belongs to. */
  stage: number;
}

export interface Scopes {
  /** Global ARG defaults (expanded) and predefined platform args: what FROM expands with. */
  globalEnv: Map<string, string>;
  /** Every name a global ARG declares. */
  globalArgNames: Set<string>;
  /** Per instruction (by identity). */
  before: Map<Instruction, InstructionScope>;
  /** Stage index → the stage it builds on (FROM <earlier stage>), if any. */
  baseStage: Map<number, number>;
}

export interface ExpandOutcome {
  value: string;
  matched: Set<string>;
  unmatched: Set<string>;
}

/** Expands like BuildKit's ProcessWordWithMatches; undefined when the word has a syntax error. */
export function tryExpand(word: string, env: VarSource, escapeChar: "\\" | "`"): ExpandOutcome | undefined {
  try {
    return expandWord(word, env, { escape: escapeChar });
  } catch {
    return undefined;
  }
}

/** Computes the scopes of every instruction of `ast`. */
export function computeScopes(ast: DockerfileAst): Scopes {
  const esc = ast.escapeChar;
  const predefined = predefinedPlatformArgs();
  const globalEnv = new Map(predefined);
  const globalArgNames = new Set<string>();
  for (const inst of ast.globalArgs) {
    for (const decl of inst.args) {
      globalArgNames.add(decl.name.value);
      if (decl.defaultValue) {
        const r = tryExpand(decl.defaultValue.value, globalEnv, esc);
        globalEnv.set(decl.name.value, r ? r.value : decl.defaultValue.value);
      }
    }
  }
  const before = new Map<Instruction, InstructionScope>();
  const baseStage = new Map<number, number>();
  const finalEnv: Array<Map<string, string>> = [];
  const finalArgs: Array<Set<string>> = [];
  const byName = new Map<string, number>();
  for (const stage of ast.stages) {
    const image = tryExpand(stage.from.image.value, globalEnv, esc)?.value ?? stage.from.image.value;
    const base = byName.get(image.toLowerCase());
    let env: Map<string, string>;
    let args: Set<string>;
    if (base !== undefined) {
      baseStage.set(stage.index, base);
      env = new Map(finalEnv[base]);
      args = new Set(finalArgs[base]);
    } else {
      env = new Map([["PATH", DEFAULT_PATH]]);
      args = new Set();
    }
    for (const inst of stage.instructions) {
      before.set(inst, { env: new Map(env), args: new Set(args), stage: stage.index });
      if (inst.kind === "Env") {
        const snapshot = new Map(env);
        for (const pair of inst.pairs) {
          const key = tryExpand(pair.key.value, snapshot, esc)?.value ?? pair.key.value;
          const value = tryExpand(pair.value.value, snapshot, esc)?.value ?? pair.value.value;
          env.set(key, value);
        }
      } else if (inst.kind === "Arg") {
        for (const decl of inst.args) {
          const name = decl.name.value;
          args.add(name);
          if (decl.defaultValue) {
            env.set(name, tryExpand(decl.defaultValue.value, env, esc)?.value ?? decl.defaultValue.value);
          } else if (globalEnv.has(name) && (globalArgNames.has(name) || predefined.has(name))) {
            env.set(name, globalEnv.get(name)!);
          }
        }
      }
    }
    finalEnv[stage.index] = env;
    finalArgs[stage.index] = args;
    if (stage.name) byName.set(stage.name, stage.index);
  }
  return { globalEnv, globalArgNames, before, baseStage };
}
