/**
 * Shell patterns inside `${a#p}`, `${a%p}`, `${a/p/r}` and friends, with BuildKit's semantics: `*` (any run),
 * `?` (one character), `\*` `\?` `\\` escapes, `\}` and `\/` meaning the bare character, no bracket
 * expressions; any other `\x` is an error. BuildKit compiles these to Go regular expressions, so the
 * wildcards do not match a newline and matches are leftmost-first (lazy stars for `#`/`%`, greedy for
 * `##`/`%%` and replacement). This module reproduces that with a small Pike VM, linear in
 * pattern × value length, so no input can make it backtrack exponentially.
 */

import { codePoints, fromCodePoints, isDigit, isLetter } from "./chars.js";

const NEWLINE = 0x0a;
const BACKSLASH = 0x5c;
const BOM = 0xfeff;

export type PatternToken = { kind: "literal"; cp: number } | { kind: "any" } | { kind: "star" };

/** A pattern that cannot be compiled; the message matches BuildKit's inner error text. */
export class PatternSyntaxError extends Error {}

/** Parses a shell pattern (escapes still raw) into tokens. */
export function parseShellPattern(pattern: string): PatternToken[] {
  const cps = codePoints(pattern);
  const tokens: PatternToken[] = [];
  // Go's text/scanner drops a byte order mark at the very start of its input.
  let i = cps[0] === BOM ? 1 : 0;
  while (i < cps.length) {
    const cp = cps[i++]!;
    if (cp === 0x2a) tokens.push({ kind: "star" });
    else if (cp === 0x3f) tokens.push({ kind: "any" });
    else if (cp === BACKSLASH) {
      const following = cps[i];
      // `\}` and `\/` protect the `${…}` delimiters; the backslash is not part of the pattern.
      if (following === 0x7d || following === 0x2f) continue;
      if (following === undefined) throw new PatternSyntaxError("invalid escape '\\' at end of pattern");
      if (following !== 0x2a && following !== 0x3f && following !== BACKSLASH) {
        throw new PatternSyntaxError(`invalid escape '\\${String.fromCodePoint(following)}'`);
      }
      i++;
      tokens.push({ kind: "literal", cp: following });
    } else tokens.push({ kind: "literal", cp });
  }
  return tokens;
}

// ---- Pike VM -------------------------------------------------------------------------------------------

type Instruction =
  | { op: "char"; cp: number }
  | { op: "any" }
  | { op: "split"; preferred: number; other: number }
  | { op: "jump"; to: number }
  | { op: "match" };

/** A compiled pattern: a program for the VM, with wildcard stars either greedy or lazy. */
export class CompiledPattern {
  private readonly program: Instruction[] = [];

  constructor(tokens: readonly PatternToken[], greedy: boolean) {
    const prog = this.program;
    for (const token of tokens) {
      if (token.kind === "literal") prog.push({ op: "char", cp: token.cp });
      else if (token.kind === "any") prog.push({ op: "any" });
      else {
        const loop = prog.length;
        const body = loop + 1;
        const exit = loop + 3;
        prog.push(
          greedy
            ? { op: "split", preferred: body, other: exit }
            : { op: "split", preferred: exit, other: body },
        );
        prog.push({ op: "any" });
        prog.push({ op: "jump", to: loop });
      }
    }
    prog.push({ op: "match" });
  }

  /**
   * Leftmost-first match in `input` starting at or after `from` (exactly at `from` when anchored), as Go's
   * regexp finds it. Returns [start, end) in code points, or undefined.
   */
  find(input: readonly number[], from: number, anchored: boolean): [number, number] | undefined {
    const size = this.program.length;
    let current: Thread[] = [];
    const seen = new Int32Array(size).fill(-1);
    let generation = 0;
    let found: [number, number] | undefined;
    for (let pos = from; pos <= input.length; pos++) {
      if (found === undefined && (!anchored || pos === from)) {
        this.addThread(current, 0, pos, seen, generation);
      }
      if (current.length === 0) break;
      generation++;
      const next: Thread[] = [];
      const cp = pos < input.length ? input[pos]! : -1;
      for (const thread of current) {
        const inst = this.program[thread.pc]!;
        if (inst.op === "match") {
          found = [thread.start, pos];
          break; // lower-priority threads lose
        }
        if (cp < 0) continue;
        if ((inst.op === "char" && inst.cp === cp) || (inst.op === "any" && cp !== NEWLINE)) {
          this.addThread(next, thread.pc + 1, thread.start, seen, generation);
        }
      }
      current = next;
    }
    return found;
  }

  /** Follows jumps and splits in priority order, appending the threads that wait on input (or match). */
  private addThread(list: Thread[], pc: number, start: number, seen: Int32Array, generation: number): void {
    const stack = [pc];
    while (stack.length > 0) {
      const at = stack.pop()!;
      if (seen[at] === generation) continue;
      seen[at] = generation;
      const inst = this.program[at]!;
      if (inst.op === "jump") stack.push(inst.to);
      else if (inst.op === "split") stack.push(inst.other, inst.preferred);
      else list.push({ pc: at, start });
    }
  }
}

interface Thread {
  pc: number;
  start: number;
}

// ---- operations -----------------------------------------------------------------------------------------

/** `${a#p}` / `${a##p}`: removes the shortest (or longest) prefix of `value` that `pattern` matches. */
export function trimPatternPrefix(pattern: string, value: string, longest: boolean): string {
  const compiled = new CompiledPattern(parseShellPattern(pattern), longest);
  const input = codePoints(value);
  const match = compiled.find(input, 0, true);
  return match === undefined ? value : fromCodePoints(input, match[1]);
}

/**
 * `${a%p}` / `${a%%p}`: removes the shortest (or longest) suffix. Like BuildKit, the pattern and the value
 * are reversed (keeping `\x` pairs together) and the prefix is trimmed.
 */
export function trimPatternSuffix(pattern: string, value: string, longest: boolean): string {
  const reversed = trimPatternPrefix(reversePattern(pattern), reverseText(value), longest);
  return reverseText(reversed);
}

/** Reverses a pattern by code points, keeping each `\` together with the character it escapes. */
export function reversePattern(pattern: string): string {
  const cps = codePoints(pattern);
  const out = new Array<number>(cps.length);
  const last = cps.length - 1;
  for (let i = 0; i <= last; ) {
    const outIndex = last - i;
    if (cps[i] === BACKSLASH && i !== last) {
      out[outIndex - 1] = BACKSLASH;
      out[outIndex] = cps[i + 1]!;
      i += 2;
    } else {
      out[outIndex] = cps[i]!;
      i++;
    }
  }
  return fromCodePoints(out);
}

function reverseText(text: string): string {
  return fromCodePoints(codePoints(text).reverse());
}

/**
 * `${a/p/r}` (first match) and `${a//p/r}` (every match), greedy. The replace-all form expands `$0`,
 * `${0}` and `$$` in the replacement as Go's Regexp.ReplaceAllString does (other `$name` become empty);
 * the first-match form inserts the replacement as is.
 */
export function replacePattern(pattern: string, value: string, replacement: string, all: boolean): string {
  const compiled = new CompiledPattern(parseShellPattern(pattern), true);
  const input = codePoints(value);
  if (!all) {
    const match = compiled.find(input, 0, false);
    if (match === undefined) return value;
    return fromCodePoints(input, 0, match[0]) + replacement + fromCodePoints(input, match[1]);
  }
  let out = "";
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= input.length) {
    const match = compiled.find(input, searchPos, false);
    if (match === undefined) break;
    const [start, end] = match;
    out += fromCodePoints(input, lastMatchEnd, start);
    // An empty match right after a previous match is not replaced (Go's rule against double replacement).
    if (end > lastMatchEnd || start === 0) {
      out += expandReplacementTemplate(replacement, fromCodePoints(input, start, end));
    }
    lastMatchEnd = end;
    const width = searchPos < input.length ? 1 : 0;
    if (searchPos + width > end) searchPos += width;
    else if (searchPos + 1 > end) searchPos++;
    else searchPos = end;
  }
  return out + fromCodePoints(input, lastMatchEnd);
}

/** Go's Regexp.Expand for a regexp whose only group is the whole match (group 0). */
export function expandReplacementTemplate(template: string, wholeMatch: string): string {
  let out = "";
  let rest = template;
  for (;;) {
    const dollar = rest.indexOf("$");
    if (dollar < 0) break;
    out += rest.slice(0, dollar);
    rest = rest.slice(dollar + 1);
    if (rest.startsWith("$")) {
      out += "$";
      rest = rest.slice(1);
      continue;
    }
    const reference = extractGroupReference(rest);
    if (reference === undefined) {
      out += "$"; // malformed: the `$` stays as text
      continue;
    }
    rest = reference.rest;
    if (reference.name === "0") out += wholeMatch;
  }
  return out + rest;
}

function extractGroupReference(text: string): { name: string; rest: string } | undefined {
  const cps = codePoints(text);
  let i = 0;
  const braced = cps[0] === 0x7b;
  if (braced) i++;
  const nameStart = i;
  while (i < cps.length && (cps[i] === 0x5f || isLetter(cps[i]!) || isDigit(cps[i]!))) i++;
  if (i === nameStart) return undefined;
  const name = fromCodePoints(cps, nameStart, i);
  if (braced) {
    if (cps[i] !== 0x7d) return undefined;
    i++;
  }
  return { name, rest: fromCodePoints(cps, i) };
}
