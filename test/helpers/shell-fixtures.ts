/**
 * Shared fixtures for the shell-word lexer tests: a variable scope with awkward values and helpers that
 * expand a word or capture the ExpansionError it raises.
 */
import { ExpansionError } from "../../src/errors.js";
import { expandWord, type ShellLexOptions } from "../../src/frontend/shell/index.js";

export const ENV: Record<string, string> = {
  FOO: "foo",
  EMPTY: "",
  SP: "a b  c",
  PATHV: "/usr/local/bin",
  FILE: "archive.tar.gz",
  KO: "한국어",
  EMOJI: "👽🚀🖖",
  STAR: "a*b",
  QM: "a?b",
  BS: "a\\b",
  NL: "a\nb",
  BRACE: "}x",
  P: "f*",
  "1": "one",
  "12": "twelve",
  "0": "zero",
  "@": "AT",
  "*": "STAR",
  "#": "HASH",
  "?": "QUESTION",
  "-": "DASH",
  $: "PID",
  "!": "BANG",
};

export function x(word: string, env: Record<string, string> = ENV, opts?: ShellLexOptions): string {
  return expandWord(word, env, opts).value;
}

export function err(word: string, env: Record<string, string> = ENV, opts?: ShellLexOptions): ExpansionError {
  try {
    const value = expandWord(word, env, opts).value;
    throw new Error(`expected ${JSON.stringify(word)} to fail, got ${JSON.stringify(value)}`);
  } catch (e) {
    if (!(e instanceof ExpansionError)) throw e;
    return e;
  }
}

export type Case = [word: string, expected: string];
