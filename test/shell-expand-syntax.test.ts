// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are shell words full of ${…}
/**
 * Unit tests for the shell-word lexer (src/frontend/shell): quotes and escapes (both escape characters),
 * every syntax error with its message and offset, ProcessWords splitting, and robustness.
 */
import { describe, expect, it } from "vitest";
import { ExpansionError } from "../src/errors.js";
import { expandWords, type ShellLexOptions } from "../src/frontend/shell/index.js";
import { type Case, ENV, err, x } from "./helpers/shell-fixtures.js";

describe("quotes and escapes", () => {
  it.each<Case>([
    ["'$FOO'", "$FOO"],
    ['"$FOO"', "foo"],
    ["'a'\"b\"c", "abc"],
    ['"it\'s"', "it's"],
    ["'say \"hi\"'", 'say "hi"'],
    ['"a\\"b"', 'a"b'],
    ['"a\\$FOO"', "a$FOO"],
    ['"a\\\\b"', "a\\b"],
    ['"a\\nb"', "a\\nb"],
    ['"a\\\'b"', "a\\'b"],
    ["'a\\nb'", "a\\nb"],
    ["'a\\'", "a\\"],
    ["a\\nb", "anb"],
    ["\\$FOO", "$FOO"],
    ["\\${FOO}", "${FOO}"],
    ["\\'x", "'x"],
    ['\\"x', '"x'],
    ["a\\ b", "a b"],
    ["hello\\", "hello"],
    ["hello\\\\", "hello\\"],
    ['""', ""],
    ["''", ""],
    ['"a b"', "a b"],
    ['"${FOO}bar"', "foobar"],
    ['"${UNSET:-a "b" c}"', "a b c"],
    ["\"'$FOO'\"", "'foo'"],
  ])("%j -> %j", (word, expected) => expect(x(word)).toBe(expected));

  it("reports unterminated quotes at the opening quote", () => {
    expect(err("'abc").offset).toBe(0);
    expect(err("'abc").message).toBe("unexpected end of statement while looking for matching single-quote");
    expect(err('x"abc').offset).toBe(1);
    expect(err('x"abc').message).toBe("unexpected end of statement while looking for matching double-quote");
    expect(err('"abc\\"').message).toMatch(/double-quote/);
    expect(err("he\\\\'llo").message).toMatch(/single-quote/);
  });
});

describe("backtick escape mode", () => {
  const bt: ShellLexOptions = { escape: "`" };
  it.each<Case>([
    ["`$FOO", "$FOO"],
    ["\\$FOO", "\\foo"],
    ["C:\\dir\\file", "C:\\dir\\file"],
    ["a``b", "a`b"],
    ["a`b", "ab"],
    ['"a`"b"', 'a"b'],
    ['"a`$FOO"', "a$FOO"],
    ['"a\\"', "a\\"],
    ['"a`x"', "a`x"],
    ["end`", "end"],
    ["${UNSET:-`}}", "}"],
  ])("%j -> %j", (word, expected) => expect(x(word, ENV, bt)).toBe(expected));

  it("keeps backslash as the glob escape inside patterns", () => {
    expect(x("${STAR%\\*b}", ENV, bt)).toBe("a");
    expect(x("${V#`*}", { V: "`xyz" }, bt)).toBe("xyz");
  });
});

describe("syntax errors", () => {
  it.each<[string, string, number]>([
    ["${}", "syntax error: bad substitution", 0],
    ["${:-x}", "syntax error: bad substitution", 0],
    ["${:}", "syntax error: bad substitution", 0],
    ["${{FOO}}", "syntax error: bad substitution", 0],
    ["abc${}", "syntax error: bad substitution", 3],
    ["${", "syntax error: missing '}'", 0],
    ["a ${", "syntax error: missing '}'", 2],
    ["${FOO", "syntax error: missing '}'", 0],
    ["${FOO:-x", "syntax error: missing '}'", 0],
    ["${FOO:", "syntax error: missing '}'", 0],
    ["${FOO-", "syntax error: missing '}'", 0],
    ["${FOO:}", "syntax error: missing '}'", 0],
    ["${UNSET:-'x}", "syntax error: missing '}'", 0],
    ['${UNSET:-"x}', "syntax error: missing '}'", 0],
    ["${UNSET:-${INNER:?no}", "syntax error: missing '}'", 0],
    ["${FOO=x}", "unsupported modifier (=) in substitution", 0],
    ["${FOO:=x}", "unsupported modifier (:=) in substitution", 0],
    ["${FOO!}", "unsupported modifier (!) in substitution", 0],
    ["${FOO:x}", "unsupported modifier (:x) in substitution", 0],
    ["${FOO:}}", "unsupported modifier (:}) in substitution", 0],
    ["${FOO^^}", "unsupported modifier (^) in substitution", 0],
    ["${FOO,,}", "unsupported modifier (,) in substitution", 0],
    ["${FOO:0:2}", "unsupported modifier (:0) in substitution", 0],
    ["${#FOO}", "unsupported modifier (F) in substitution", 0],
    ["${FOO.bar}", "unsupported modifier (.) in substitution", 0],
    ["${FOO bar}", "unsupported modifier ( ) in substitution", 0],
    ["x ${UNSET:-${}}", "syntax error: bad substitution", 11],
  ])("%j -> %j at %d", (word, message, offset) => {
    const e = err(word);
    expect(e.message).toBe(message);
    expect(e.offset).toBe(offset);
    expect(e).toBeInstanceOf(ExpansionError);
    expect(e.hint).toBeTruthy();
  });

  it("fails inside double quotes too", () => {
    expect(err('"${}"').offset).toBe(1);
    expect(err('"${UNSET:?x}"').message).toBe("UNSET: x");
  });

  it("does not fail for syntax inside single quotes or after an escape", () => {
    expect(x("'${}'")).toBe("${}");
    expect(x("\\${}")).toBe("${}");
  });
});

describe("expandWords (ProcessWords)", () => {
  const w = (word: string, opts?: ShellLexOptions) => expandWords(word, ENV, opts).words;
  it.each<[string, string[]]>([
    ["a b", ["a", "b"]],
    ["  a   b  ", ["a", "b"]],
    ["a\tb\nc", ["a", "b", "c"]],
    ["'a b'", ["a b"]],
    ['"a b" c', ["a b", "c"]],
    ["a\\ b", ["a b"]],
    ["$SP", ["a", "b", "c"]],
    ['"$SP"', ["a b  c"]],
    ["x$SP", ["xa", "b", "c"]],
    ["${SP}y", ["a", "b", "cy"]],
    ["${UNSET:-p q}", ["p", "q"]],
    ["${UNSET:-'p q'}", ["p", "q"]],
    ["''", []],
    ['""', []],
    ["'' a", ["a"]],
    ["a''", ["a"]],
    ["''a", ["a"]],
    ["", []],
    ["   ", []],
    ["$EMPTY", []],
    ["$UNSET a", ["a"]],
    ['""$FOO', ["foo"]],
    ["80/tcp 443/udp", ["80/tcp", "443/udp"]],
    ["'$SP' $FOO", ["$SP", "foo"]],
    ["a' 'b", ["a b"]],
    ["a\\\\ b", ["a\\", "b"]],
  ])("%j -> %j", (word, expected) => expect(w(word)).toEqual(expected));

  it("splits with the backtick escape too", () => {
    expect(w("a` b c", { escape: "`" })).toEqual(["a b", "c"]);
  });

  it("reports matched and unmatched names", () => {
    const r = expandWords("$FOO $NOPE", ENV);
    expect(r.words).toEqual(["foo"]);
    expect([...r.matched]).toEqual(["FOO"]);
    expect([...r.unmatched]).toEqual(["NOPE"]);
  });

  it("throws the same errors as expandWord", () => {
    expect(() => expandWords("a ${}", ENV)).toThrow(ExpansionError);
  });
});

describe("robustness", () => {
  it("is linear on adversarial patterns", () => {
    const value = "a".repeat(3000);
    const pattern = "*a".repeat(40);
    const started = performance.now();
    expect(x(`\${V##${pattern}}`, { V: value })).toBe("");
    expect(x(`\${V%${pattern}b}`, { V: value })).toBe(value);
    expect(x(`\${V//${pattern}b/x}`, { V: value.slice(0, 300) })).toBe(value.slice(0, 300));
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it("drops a byte order mark at the start of the word, as Go's scanner does", () => {
    expect(x("\uFEFF$FOO")).toBe("foo");
    expect(x("a\uFEFF")).toBe("a\uFEFF");
  });
});

describe("lexer modes", () => {
  it("skipProcessQuotes keeps quotes as text (heredoc bodies)", () => {
    const heredoc: ShellLexOptions = { skipProcessQuotes: true };
    expect(x("echo '$FOO' \"$FOO\"\n", ENV, heredoc)).toBe("echo 'foo' \"foo\"\n");
    expect(x('printf "a\\nb"', ENV, heredoc)).toBe('printf "anb"');
    expect(x("it's", ENV, heredoc)).toBe("it's");
    expect(x("${UNSET:-'a b'}", ENV, heredoc)).toBe("'a b'");
    expect(x("\\$FOO", ENV, heredoc)).toBe("$FOO");
    expect(expandWords("'a b'", ENV, heredoc).words).toEqual(["'a", "b'"]);
  });

  it("rawQuotes keeps the quote characters", () => {
    expect(x("'$FOO' \"$FOO\"", ENV, { rawQuotes: true })).toBe("'$FOO' \"foo\"");
  });

  it("rawEscapes keeps the escape characters", () => {
    expect(x("a\\ b\\$FOO", ENV, { rawEscapes: true })).toBe("a\\ b\\$FOO");
    expect(x('"\\"x"', ENV, { rawEscapes: true })).toBe('\\"x');
    expect(x("${UNSET:-\\}}", ENV, { rawEscapes: true })).toBe("}");
  });

  it("skipUnsetEnv leaves references to unset variables as written", () => {
    const keep: ShellLexOptions = { skipUnsetEnv: true };
    expect(x("$FOO $UNSET ${UNSET}", ENV, keep)).toBe("foo $UNSET ${UNSET}");
    expect(x("${UNSET:-x} ${FOO:-x}", ENV, keep)).toBe("${UNSET:-x} foo");
    expect(x("${UNSET:?must}", ENV, keep)).toBe("${UNSET:?must}");
    expect(x("${UNSET:-$FOO}", ENV, keep)).toBe("${UNSET:-foo}");
    expect(x("${UNSET//a/b}", ENV, keep)).toBe("${UNSET/a/b}");
    expect(x("${UNSET#p}", ENV, keep)).toBe("${UNSET#p}");
    expect(() => x("${UNSET=x}", ENV, keep)).toThrow(ExpansionError);
  });
});
