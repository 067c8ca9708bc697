/**
 * Instruction flags, checked the way BuildKit's bflag.go does: every flag must be one the instruction
 * declares; string flags need `=value` (an empty value is an error too); bool flags take no value or
 * `=true|false` (any case); only `strings` flags may repeat. Unknown flags get a "did you mean" hint.
 */
import type { Located } from "./ast.js";
import type { RawFlag, RawInstruction, SourceRange } from "./raw.js";
import { suggest } from "./suggest.js";
import { instructionError, type SourceText } from "./validate-location.js";

export type FlagType = "bool" | "string" | "strings";

/** The flags an instruction accepts: name (without `--`) → type. */
export type FlagSpec = Readonly<Record<string, FlagType>>;

/** The range of a flag's value, when it can be located exactly; else the whole flag's range. */
export function flagValueRange(flag: RawFlag): SourceRange {
  const r = flag.range;
  const width = r.end.column - r.start.column;
  if (flag.value === undefined || r.start.line !== r.end.line || width !== Array.from(flag.text).length)
    return r;
  const offset = Array.from(flag.name).length + 3; // "--" + name + "="
  return { start: { line: r.start.line, column: r.start.column + offset }, end: r.end };
}

/** The validated flags of one instruction. */
export class ParsedFlags {
  private readonly byName = new Map<string, RawFlag[]>();

  constructor(flags: RawFlag[]) {
    for (const f of flags) {
      const list = this.byName.get(f.name) ?? [];
      list.push(f);
      this.byName.set(f.name, list);
    }
  }

  used(name: string): boolean {
    return this.byName.has(name);
  }

  /** A bool flag's value: absent → `undefined`, `--f` → true, `--f=false` → false. */
  bool(name: string): boolean | undefined {
    const f = this.byName.get(name)?.[0];
    if (!f) return undefined;
    return f.value === undefined || f.value.toLowerCase() === "true";
  }

  string(name: string): Located | undefined {
    const f = this.byName.get(name)?.[0];
    return f ? { value: f.value ?? "", range: flagValueRange(f) } : undefined;
  }

  strings(name: string): Located[] {
    return (this.byName.get(name) ?? []).map((f) => ({ value: f.value ?? "", range: flagValueRange(f) }));
  }

  raw(name: string): RawFlag | undefined {
    return this.byName.get(name)?.[0];
  }
}

/** Checks `inst.flags` against `spec` and returns them; throws `InstructionError` at the offending flag. */
export function parseFlags(src: SourceText, inst: RawInstruction, spec: FlagSpec): ParsedFlags {
  const seen = new Set<string>();
  const known = Object.keys(spec);
  for (const flag of inst.flags) {
    const type = spec[flag.name];
    if (type === undefined) {
      const close = suggest(flag.name, known, true);
      const hint = close
        ? `did you mean --${close}?`
        : known.length > 0
          ? `${inst.keyword.toUpperCase()} accepts ${known.map((k) => `--${k}`).join(", ")}`
          : `${inst.keyword.toUpperCase()} takes no flags`;
      throw instructionError(src, flag.range, `unknown flag: ${flag.name}`, hint);
    }
    if (seen.has(flag.name) && type !== "strings") {
      throw instructionError(
        src,
        flag.range,
        `duplicate flag specified: ${flag.name}`,
        `--${flag.name} may be given only once`,
      );
    }
    seen.add(flag.name);
    if (type === "bool") {
      if (flag.value === undefined) continue;
      if (flag.value === "") {
        throw instructionError(
          src,
          flag.range,
          `missing a value on flag: ${flag.name}`,
          `use --${flag.name} or --${flag.name}=true|false`,
        );
      }
      const lower = flag.value.toLowerCase();
      if (lower !== "true" && lower !== "false") {
        throw instructionError(
          src,
          flagValueRange(flag),
          `expecting boolean value for flag ${flag.name}, not: ${flag.value}`,
          `use --${flag.name}, --${flag.name}=true or --${flag.name}=false`,
        );
      }
      continue;
    }
    if (flag.value === undefined || flag.value === "") {
      throw instructionError(
        src,
        flag.range,
        `missing a value on flag: ${flag.name}`,
        `write --${flag.name}=<value>`,
      );
    }
  }
  return new ParsedFlags(inst.flags);
}
