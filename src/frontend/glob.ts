/**
 * Docker's path patterns, as moby/patternmatcher compiles them for `.dockerignore` (and BuildKit for
 * `COPY --exclude`): `*` and `?` never cross `/`, `**` spans any number of directories, `[...]` classes with
 * `^` negation and ranges, `\` escapes the next character. Patterns are validated the way Go's
 * filepath.Match does, then matched exactly (no regular expressions): patternmatcher's shortcuts (exact,
 * `prefix**`, `**suffix`) are reproduced because they differ from the general form in corner cases
 * (`**foo` matches `barfoo`). Matching is an NFA simulation, linear in path × pattern length.
 */

import { codePoints } from "./shell/chars.js";

const SLASH = 0x2f;
const NEWLINE = 0x0a;
const BACKSLASH = 0x5c;
const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const CARET = 0x5e;
const DASH = 0x2d;

/** A syntax error in a pattern, with the code-unit offset in the pattern where it was found. */
export class PathPatternSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

type CharClass = { negated: boolean; ranges: Array<[number, number]> };

type PathToken =
  | { kind: "literal"; cp: number }
  | { kind: "anyExceptSlash" } // ?
  | { kind: "starExceptSlash" } // *
  | { kind: "directories" } // ** in the middle: (.*/)?
  | { kind: "rest" } // ** at the end after a wildcard: .*
  | { kind: "class"; cls: CharClass };

type Compiled =
  | { kind: "exact"; text: string }
  | { kind: "prefix"; text: string }
  | { kind: "suffix"; text: string }
  | { kind: "nfa"; nfa: PathNfa };

/**
 * Checks a pattern as Go's filepath.Match would: classes must be closed and non-empty, ranges complete and
 * ordered, and a trailing `\` escapes nothing. Throws PathPatternSyntaxError.
 */
export function validatePathPattern(pattern: string): void {
  const cps = codePoints(pattern);
  const offsets = codeUnitOffsets(cps);
  let i = 0;
  while (i < cps.length) {
    const cp = cps[i]!;
    if (cp === BACKSLASH) {
      if (i + 1 >= cps.length)
        throw new PathPatternSyntaxError("trailing backslash escapes nothing", offsets[i]!);
      i += 2;
    } else if (cp === OPEN_BRACKET) {
      const parsed = parseClass(cps, i, offsets);
      i = parsed.end;
    } else i++;
  }
}

/** Parses `[...]` starting at `open`; returns the class and the index just past `]`. */
function parseClass(
  cps: readonly number[],
  open: number,
  offsets: readonly number[],
): { cls: CharClass; end: number } {
  const fail = (message: string): never => {
    throw new PathPatternSyntaxError(message, offsets[open]!);
  };
  let i = open + 1;
  const negated = cps[i] === CARET;
  if (negated) i++;
  const ranges: Array<[number, number]> = [];
  for (;;) {
    if (cps[i] === CLOSE_BRACKET && ranges.length > 0) return { cls: { negated, ranges }, end: i + 1 };
    const low = readClassChar(cps, i, fail);
    i = low.next;
    let high = low.cp;
    if (cps[i] === DASH) {
      const read = readClassChar(cps, i + 1, fail);
      high = read.cp;
      i = read.next;
      if (high < low.cp) fail("character class range is out of order");
    }
    ranges.push([low.cp, high]);
  }
}

/** Go's getEsc: one (possibly escaped) class character, which must be followed by more pattern. */
function readClassChar(
  cps: readonly number[],
  at: number,
  fail: (message: string) => never,
): { cp: number; next: number } {
  let i = at;
  const first = cps[i];
  if (first === undefined) return fail("unterminated character class '['");
  if (first === DASH || first === CLOSE_BRACKET) return fail("empty or malformed range in character class");
  if (first === BACKSLASH) {
    i++;
    if (cps[i] === undefined) return fail("unterminated character class '['");
  }
  const cp = cps[i]!;
  i++;
  if (i >= cps.length) return fail("unterminated character class '['");
  return { cp, next: i };
}

function codeUnitOffsets(cps: readonly number[]): number[] {
  const offsets: number[] = [];
  let offset = 0;
  for (const cp of cps) {
    offsets.push(offset);
    offset += cp > 0xffff ? 2 : 1;
  }
  offsets.push(offset);
  return offsets;
}

/** A compiled Docker path pattern. `pattern` must already be cleaned (see cleanPath). */
export class PathPattern {
  private readonly compiled: Compiled;

  constructor(readonly pattern: string) {
    validatePathPattern(pattern);
    this.compiled = compilePathPattern(pattern);
  }

  /** Whether the pattern matches `path` itself (a cleaned, slash-separated relative path). */
  matches(path: string): boolean {
    const c = this.compiled;
    switch (c.kind) {
      case "exact":
        return path === c.text;
      case "prefix":
        return path.startsWith(c.text);
      case "suffix":
        return path.endsWith(c.text) || (c.text.startsWith("/") && path === c.text.slice(1));
      case "nfa":
        return c.nfa.matches(path);
    }
  }

  /** Whether some path strictly under `dir` (`dir/…`) could match the pattern. Conservative: may say yes. */
  mayMatchUnder(dir: string): boolean {
    const c = this.compiled;
    const prefix = dir === "" ? "" : `${dir}/`;
    switch (c.kind) {
      case "exact":
        return c.text.length > prefix.length && c.text.startsWith(prefix);
      case "prefix":
        return c.text.startsWith(prefix) || prefix.startsWith(c.text);
      case "suffix":
        return true;
      case "nfa":
        return c.nfa.canContinueAfter(prefix);
    }
  }
}

function compilePathPattern(pattern: string): Compiled {
  const cps = codePoints(pattern);
  const tokens: PathToken[] = [];
  let kind: "exact" | "prefix" | "suffix" | "nfa" = "exact";
  let i = 0;
  for (let step = 0; i < cps.length; step++) {
    const cp = cps[i++]!;
    if (cp === STAR) {
      if (cps[i] === STAR) {
        i++;
        if (cps[i] === SLASH) i++; // `**/` is treated as `**`
        if (i >= cps.length) {
          if (kind === "exact") kind = "prefix";
          else {
            tokens.push({ kind: "rest" });
            kind = "nfa";
          }
        } else {
          tokens.push({ kind: "directories" });
          kind = "nfa";
        }
        if (step === 0) kind = "suffix";
      } else {
        tokens.push({ kind: "starExceptSlash" });
        kind = "nfa";
      }
    } else if (cp === QUESTION) {
      tokens.push({ kind: "anyExceptSlash" });
      kind = "nfa";
    } else if (cp === BACKSLASH) {
      if (i < cps.length) {
        tokens.push({ kind: "literal", cp: cps[i++]! });
        kind = "nfa";
      } else tokens.push({ kind: "literal", cp });
    } else if (cp === OPEN_BRACKET) {
      const parsed = parseClass(cps, i - 1, codeUnitOffsets(cps));
      tokens.push({ kind: "class", cls: parsed.cls });
      i = parsed.end;
      kind = "nfa";
    } else {
      if (cp === CLOSE_BRACKET) kind = "nfa";
      tokens.push({ kind: "literal", cp });
    }
  }
  switch (kind) {
    case "exact":
      return { kind, text: pattern };
    case "prefix":
      return { kind, text: pattern.slice(0, -2) };
    case "suffix":
      return { kind, text: pattern.slice(2) };
    default:
      return { kind: "nfa", nfa: new PathNfa(tokens) };
  }
}

// ---- NFA ------------------------------------------------------------------------------------------------

type Edge = { test: (cp: number) => boolean; to: number };

const notSlash = (cp: number): boolean => cp !== SLASH;
const notNewline = (cp: number): boolean => cp !== NEWLINE;

/** States 0..n (n = accept) plus one loop state per `**` in the middle. */
class PathNfa {
  private readonly edges: Edge[][] = [];
  private readonly epsilons: number[][] = [];
  private readonly accept: number;

  private readonly literalPrefix: string;
  private readonly literalSuffix: string;

  constructor(tokens: readonly PathToken[]) {
    this.accept = tokens.length;
    const literalText = (run: readonly PathToken[]): string => {
      let text = "";
      for (const token of run) {
        if (token.kind !== "literal") break;
        text += String.fromCodePoint(token.cp);
      }
      return text;
    };
    this.literalPrefix = literalText(tokens);
    const reversedSuffix = literalText([...tokens].reverse());
    this.literalSuffix = [...reversedSuffix].reverse().join("");
    for (let s = 0; s <= tokens.length; s++) this.addState();
    tokens.forEach((token, k) => {
      const next = k + 1;
      switch (token.kind) {
        case "literal":
          this.edges[k]!.push({ test: (cp) => cp === token.cp, to: next });
          break;
        case "anyExceptSlash":
          this.edges[k]!.push({ test: notSlash, to: next });
          break;
        case "starExceptSlash":
          this.edges[k]!.push({ test: notSlash, to: k });
          this.epsilons[k]!.push(next);
          break;
        case "rest":
          this.edges[k]!.push({ test: notNewline, to: k });
          this.epsilons[k]!.push(next);
          break;
        case "directories": {
          const loop = this.addState();
          this.epsilons[k]!.push(next, loop);
          this.edges[loop]!.push({ test: notNewline, to: loop }, { test: (cp) => cp === SLASH, to: next });
          break;
        }
        case "class":
          this.edges[k]!.push({ test: (cp) => classMatches(token.cls, cp), to: next });
          break;
      }
    });
  }

  private addState(): number {
    this.edges.push([]);
    this.epsilons.push([]);
    return this.edges.length - 1;
  }

  /** Epsilon closure of every state, computed once. */
  private get closures(): Int32Array[] {
    if (this.closureCache === undefined) {
      this.closureCache = this.edges.map((_, start) => {
        const seen = new Set<number>();
        const stack = [start];
        while (stack.length > 0) {
          const s = stack.pop()!;
          if (seen.has(s)) continue;
          seen.add(s);
          stack.push(...this.epsilons[s]!);
        }
        return Int32Array.from(seen);
      });
    }
    return this.closureCache;
  }
  private closureCache: Int32Array[] | undefined;

  // Scratch buffers reused by every run (matching is synchronous, so runs never overlap).
  private scratch: { mark: Int32Array; a: Int32Array; b: Int32Array; generation: number } | undefined;

  /** The set of states after reading `text` (as a list), or an empty list once every thread died. */
  private run(text: string): Int32Array {
    const closures = this.closures;
    const size = this.edges.length;
    this.scratch ??= {
      mark: new Int32Array(size).fill(-1),
      a: new Int32Array(size),
      b: new Int32Array(size),
      generation: 0,
    };
    const scratch = this.scratch;
    const mark = scratch.mark;
    let current = scratch.a;
    let next = scratch.b;
    let currentLength = 0;
    let generation = ++scratch.generation;
    const startClosure = closures[0]!;
    for (let k = 0; k < startClosure.length; k++) {
      mark[startClosure[k]!] = generation;
      current[currentLength++] = startClosure[k]!;
    }
    for (let i = 0; i < text.length; ) {
      const cp = text.codePointAt(i)!;
      i += cp > 0xffff ? 2 : 1;
      generation = ++scratch.generation;
      let nextLength = 0;
      for (let j = 0; j < currentLength; j++) {
        const edges = this.edges[current[j]!]!;
        for (let e = 0; e < edges.length; e++) {
          const edge = edges[e]!;
          if (!edge.test(cp)) continue;
          const targets = closures[edge.to]!;
          for (let k = 0; k < targets.length; k++) {
            const t = targets[k]!;
            if (mark[t] === generation) continue;
            mark[t] = generation;
            next[nextLength++] = t;
          }
        }
      }
      if (nextLength === 0) return new Int32Array(0);
      const swap = current;
      current = next;
      next = swap;
      currentLength = nextLength;
    }
    return current.slice(0, currentLength);
  }

  matches(text: string): boolean {
    // Necessary conditions first: the literal text the pattern starts and ends with.
    if (!text.startsWith(this.literalPrefix) || !text.endsWith(this.literalSuffix)) return false;
    return this.run(text).includes(this.accept);
  }

  /** After reading `text`, is some state still able to read more (so a longer path could match)? */
  canContinueAfter(text: string): boolean {
    return this.run(text).some((state) => this.edges[state]!.length > 0);
  }
}

function classMatches(cls: CharClass, cp: number): boolean {
  const inRange = cls.ranges.some(([low, high]) => cp >= low && cp <= high);
  return inRange !== cls.negated;
}

/**
 * Go's filepath.Clean for slash-separated paths: collapses `//`, drops `.` elements, resolves `..` where
 * it can, removes a trailing `/`; the empty path becomes `.`.
 */
export function cleanPath(path: string): string {
  if (path === "") return ".";
  const rooted = path.startsWith("/");
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length > 0 && parts[parts.length - 1] !== "..") parts.pop();
      else if (!rooted) parts.push("..");
      continue;
    }
    parts.push(part);
  }
  const joined = parts.join("/");
  if (rooted) return `/${joined}`;
  return joined === "" ? "." : joined;
}
