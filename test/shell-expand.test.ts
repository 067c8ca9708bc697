// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are shell words full of ${…}
/**
 * Unit tests for the shell-word lexer (src/frontend/shell), one block per substitution operator, with
 * expectations written from BuildKit's ProcessWord semantics. Quoting, syntax errors and word splitting
 * are in shell-expand-syntax.test.ts.
 */
import { describe, expect, it } from "vitest";
import { expandWord, lookupFrom } from "../src/frontend/shell/index.js";
import { type Case, ENV, err, x } from "./helpers/shell-fixtures.js";

describe("plain words", () => {
  it.each<Case>([
    ["hello", "hello"],
    ["", ""],
    ["a b  c", "a b  c"],
    ["a=b,c:d", "a=b,c:d"],
    ["{}", "{}"],
    ["}", "}"],
    ["日本", "日本"],
  ])("%j -> %j", (word, expected) => expect(x(word)).toBe(expected));
});

describe("$name and ${name}", () => {
  it.each<Case>([
    ["$FOO", "foo"],
    ["${FOO}", "foo"],
    ["$FOO-bar", "foo-bar"],
    ["$FOO.bar", "foo.bar"],
    ["$FOO/bar", "foo/bar"],
    ["${FOO}bar", "foobar"],
    ["$FOObar", ""],
    ["x$UNSET.y", "x.y"],
    ["${UNSET}", ""],
    ["$EMPTY|", "|"],
    ["$FOO$FOO", "foofoo"],
    ["$KO", "한국어"],
    ["pre${KO}post", "pre한국어post"],
    ["$SP", "a b  c"],
  ])("%j -> %j", (word, expected) => expect(x(word)).toBe(expected));

  it("names are letters, digits and underscores, including non-ASCII letters", () => {
    const env = { A_1: "v", _: "under", é: "accent", A: "short" };
    expect(x("$A_1", env)).toBe("v");
    expect(x("$_", env)).toBe("under");
    expect(x("$é", env)).toBe("accent");
    expect(x("$A-1", env)).toBe("short-1");
    expect(x("${A_1}x", env)).toBe("vx");
  });

  it("a leading digit makes a digit run", () => {
    expect(x("$1")).toBe("one");
    expect(x("$12")).toBe("twelve");
    expect(x("$12x")).toBe("twelvex");
    expect(x("$1a")).toBe("onea");
    expect(x("$0")).toBe("zero");
    expect(x("$0abc")).toBe("zeroabc");
    expect(x("${12}")).toBe("twelve");
    expect(x("$123")).toBe("");
  });

  it.each<Case>([
    ["$@", "AT"],
    ["$*", "STAR"],
    ["$#", "HASH"],
    ["$?", "QUESTION"],
    ["$-", "DASH"],
    ["$$", "PID"],
    ["$!", "BANG"],
    ["$$$", "PID$"],
    ["$#x", "HASHx"],
    ["${@}", "AT"],
    ["${#}", "HASH"],
    ["${$}", "PID"],
    ["${-}", "DASH"],
    ["${?}", "QUESTION"],
  ])("special parameter %j -> %j", (word, expected) => expect(x(word)).toBe(expected));

  it("special parameters are unset by default", () => {
    expect(x("[$@$*$#$?$-$$$!]", {})).toBe("[]");
  });

  it.each<Case>([
    ["$", "$"],
    ["a$", "a$"],
    ["$/x", "$/x"],
    ["$ x", "$ x"],
    ["$.", "$."],
    ["$%", "$%"],
    ["$=", "$="],
    ["$:", "$:"],
    ["$+1", "$+1"],
    ['"$"', "$"],
    ['"a$"', "a$"],
  ])("$ before anything else stays literal: %j -> %j", (word, expected) => expect(x(word)).toBe(expected));
});

describe("matched and unmatched names", () => {
  it("records set and unset names", () => {
    const r = expandWord("$FOO ${EMPTY} $UNSET ${OTHER:-x} $FOO", ENV);
    expect([...r.matched].sort()).toEqual(["EMPTY", "FOO"]);
    expect([...r.unmatched].sort()).toEqual(["OTHER", "UNSET"]);
  });

  it("records names in modifier words, patterns and replacements", () => {
    const r = expandWord("${FOO/$A/$B} ${FOO#$C} ${U:-$D}", { FOO: "foo", A: "o" });
    expect([...r.matched].sort()).toEqual(["A", "FOO"]);
    expect([...r.unmatched].sort()).toEqual(["B", "C", "D", "U"]);
  });

  it("records nothing for quoted or escaped dollars", () => {
    const r = expandWord("'$A' \\$B", ENV);
    expect(r.matched.size + r.unmatched.size).toBe(0);
  });

  it("accepts a lookup function and a Map", () => {
    expect(expandWord("$A-$B", (n) => (n === "A" ? "1" : undefined)).value).toBe("1-");
    expect(expandWord("$A-$B", new Map([["B", "2"]])).value).toBe("-2");
    expect(lookupFrom({ A: "x" })("toString")).toBeUndefined();
  });
});

describe("${a:-w} and ${a-w}", () => {
  it.each<Case>([
    ["${FOO:-x}", "foo"],
    ["${EMPTY:-x}", "x"],
    ["${UNSET:-x}", "x"],
    ["${FOO-x}", "foo"],
    ["${EMPTY-x}", ""],
    ["${UNSET-x}", "x"],
    ["${UNSET:-}", ""],
    ["${UNSET-}", ""],
    ["${FOO:-}", "foo"],
    ["${UNSET:-$FOO}", "foo"],
    ["${UNSET:-${EMPTY:-deep}}", "deep"],
    ["${UNSET:-${ALSO:-${FOO}}}", "foo"],
    ["${UNSET:-a b}", "a b"],
    ["${UNSET:-'}'}", "}"],
    ['${UNSET:-"x}y"}', "x}y"],
    ["${UNSET:-\\}}", "}"],
    ["${UNSET:-a\\$b}", "a$b"],
    ["${UNSET:-'$FOO'}", "$FOO"],
    ["${UNSET:-{}}", "{}"],
    ["${UNSET:--}", "-"],
    ["${UNSET:-:-}", ":-"],
    ["${1:-x}", "one"],
    ["${9:-x}", "x"],
    ["[${UNSET:-x}]", "[x]"],
  ])("%j -> %j", (word, expected) => expect(x(word)).toBe(expected));
});

describe("${a:+w} and ${a+w}", () => {
  it.each<Case>([
    ["${FOO:+x}", "x"],
    ["${EMPTY:+x}", ""],
    ["${UNSET:+x}", ""],
    ["${FOO+x}", "x"],
    ["${EMPTY+x}", "x"],
    ["${UNSET+x}", ""],
    ["${FOO:+$FOO$FOO}", "foofoo"],
    ["${FOO:+}", ""],
    ["v${FOO:+-${FOO}}", "v-foo"],
    ["v${EMPTY:+-${EMPTY}}", "v"],
  ])("%j -> %j", (word, expected) => expect(x(word)).toBe(expected));
});

describe("${a:?m} and ${a?m}", () => {
  it.each<Case>([
    ["${FOO:?msg}", "foo"],
    ["${FOO?msg}", "foo"],
    ["${EMPTY?msg}", ""],
    ["${FOO:?}", "foo"],
  ])("%j -> %j", (word, expected) => expect(x(word)).toBe(expected));

  it.each<Case>([
    ["${EMPTY:?}", "EMPTY: is not allowed to be empty"],
    ["${UNSET:?}", "UNSET: is not allowed to be unset"],
    ["${UNSET?}", "UNSET: is not allowed to be unset"],
    ["${UNSET:?custom}", "UNSET: custom"],
    ["${EMPTY:?custom text}", "EMPTY: custom text"],
    ["${UNSET?need $FOO}", "UNSET: need foo"],
    ["${UNSET?'$FOO'}", "UNSET: $FOO"],
  ])("%j fails with %j", (word, message) => {
    const e = err(word);
    expect(e.message).toBe(message);
    expect(e.code).toBe("EXPANSION");
    expect(e.hint).toMatch(/ARG|ENV|build-arg/);
  });

  it("points at the failing substitution", () => {
    expect(err("ab${UNSET?}").offset).toBe(2);
    expect(err("${FOO} ${UNSET:?x}").offset).toBe(7);
    expect(err("${UNSET:-${INNER:?no}}").offset).toBe(9);
  });
});

describe("${a#p} ${a##p} ${a%p} ${a%%p}", () => {
  it.each<Case>([
    ["${FILE#*.}", "tar.gz"],
    ["${FILE##*.}", "gz"],
    ["${FILE%.*}", "archive.tar"],
    ["${FILE%%.*}", "archive"],
    ["${FILE#nomatch}", "archive.tar.gz"],
    ["${FILE%nomatch}", "archive.tar.gz"],
    ["${FILE#}", "archive.tar.gz"],
    ["${FILE##}", "archive.tar.gz"],
    ["${FILE%}", "archive.tar.gz"],
    ["${FILE%%}", "archive.tar.gz"],
    ["${FILE#archive}", ".tar.gz"],
    ["${FILE#?}", "rchive.tar.gz"],
    ["${FILE%??}", "archive.tar."],
    ["${FILE#*}", "archive.tar.gz"],
    ["${FILE##*}", ""],
    ["${FILE%*}", "archive.tar.gz"],
    ["${FILE%%*}", ""],
    ["${FILE#a*a}", "r.gz"],
    ["${FILE##a*a}", "r.gz"],
    ["${FILE#*a}", "rchive.tar.gz"],
    ["${FILE##*a}", "r.gz"],
    ["${FILE%a*}", "archive.t"],
    ["${FILE%%a*}", ""],
    ["${FILE%.tar.gz}", "archive"],
    ["${FILE#rchive}", "archive.tar.gz"],
    ["${PATHV##*/}", "bin"],
    ["${PATHV%/*}", "/usr/local"],
    ["${PATHV%%/*}", ""],
    ["${PATHV#/}", "usr/local/bin"],
    ["${PATHV#*/*/}", "local/bin"],
    ["${PATHV#$FOO}", "/usr/local/bin"],
    ["${FOO#$P}", "oo"],
    ["${FOO##$P}", ""],
    ["${UNSET#x}", ""],
    ["${UNSET%%*}", ""],
    ["${EMPTY#*}", ""],
  ])("%j -> %j", (word, expected) => expect(x(word)).toBe(expected));

  it.each<Case>([
    ["${STAR#a\\*}", "b"],
    ["${STAR%\\*b}", "a"],
    ["${STAR#*\\*}", "b"],
    ["${STAR#\\*}", "a*b"],
    ["${QM#?\\?}", "b"],
    ["${QM%\\??}", "a"],
    ["${BS#a\\\\}", "b"],
    ["${BS%\\\\*}", "a"],
    ["${BRACE#\\}}", "x"],
    ["${PATHV#\\/usr}", "/local/bin"],
  ])("escapes in patterns: %j -> %j", (word, expected) => expect(x(word)).toBe(expected));

  it("treats quoted wildcards as wildcards (BuildKit)", () => {
    expect(x('${FILE#"*."}')).toBe("tar.gz");
    expect(x("${FILE%'.*'}")).toBe("archive.tar");
  });

  it("does not let wildcards match a newline", () => {
    expect(x("${NL#*b}")).toBe("a\nb");
    expect(x("${NL#a?}")).toBe("a\nb");
    expect(x("${NL#a}")).toBe("\nb");
    expect(x("${NL%%*}")).toBe("a\n");
    expect(x("${NL##*}")).toBe("\nb");
  });

  it("works on code points", () => {
    expect(x("${KO#?}")).toBe("국어");
    expect(x("${KO%?}")).toBe("한국");
    expect(x("${EMOJI#?}")).toBe("🚀🖖");
    expect(x("${EMOJI%?}")).toBe("👽🚀");
    expect(x("${EMOJI#*🚀}")).toBe("🖖");
  });

  it("regex metacharacters are literal", () => {
    const env = { V: "()[]{}^$.+|x" };
    expect(x("${V#()[]{\\}^$.+|}", env)).toBe("x");
    expect(x("${V%.+|x}", env)).toBe("()[]{}^$");
  });

  it.each<[string, RegExp]>([
    ["${FILE#\\x}", /invalid pattern \(\\x\) in substitution: invalid escape '\\x'/],
    ["${FILE%a\\b}", /invalid pattern/],
    ["${FILE:#x}", /^unsupported modifier \(:#\) in substitution$/],
    ["${FILE:%x}", /^unsupported modifier \(:%\) in substitution$/],
    ["${FILE:##x}", /unsupported modifier \(:#\)/],
    ["${FILE#x", /^syntax error: missing '}'$/],
  ])("%j fails with %s", (word, message) => {
    expect(err(word).message).toMatch(message);
    expect(err(word).offset).toBe(0);
  });

  it("a trailing backslash in a pattern from a variable is invalid", () => {
    expect(err("${FILE#$T}", { FILE: "a", T: "x\\" }).message).toMatch(/invalid pattern/);
  });
});

describe("${a/p/r} and ${a//p/r}", () => {
  it.each<Case>([
    ["${PATHV/\\//:}", ":usr/local/bin"],
    ["${PATHV//\\//:}", ":usr:local:bin"],
    ["${FOO/o/0}", "f0o"],
    ["${FOO//o/0}", "f00"],
    ["${FOO/x/y}", "foo"],
    ["${FOO//x/y}", "foo"],
    ["${FOO/o*/X}", "fX"],
    ["${FOO/?/X}", "Xoo"],
    ["${FOO//?/X}", "XXX"],
    ["${FILE/.*/}", "archive"],
    ["${FILE/.*./-}", "archive-gz"],
    ["${FILE//./-}", "archive-tar-gz"],
    ["${SP// /_}", "a_b__c"],
    ["${SP/ /}", "ab  c"],
    ["${FOO/o/}", "fo"],
    ["${FOO//o/}", "f"],
    ["${FOO///x}", "xfxoxox"],
    ["${FOO//}/x}", "foo"],
    ["${UNSET/a/b}", ""],
    ["${UNSET//*/b}", "b"],
    ["${EMPTY/*/x}", "x"],
    ["${EMPTY//*/x}", "x"],
    ["${FOO//*/x}", "x"],
    ["${FOO/$UNSET/ww}", "wwfoo"],
    ["${FOO/f/$FOO}", "foooo"],
    ["${FOO//o/${FILE%%.*}}", "farchivearchive"],
    ["${PATHV//\\//\\/}", "\\/usr\\/local\\/bin"],
    ["${FOO/o/a\\b}", "fa\\bo"],
    ["${NL//?/.}", ".\n."],
    ["${KO/국/-}", "한-어"],
    ["${STAR/\\*/+}", "a+b"],
  ])("%j -> %j", (word, expected) => expect(x(word)).toBe(expected));

  it("the replace-all form expands $0 and $$ in the replacement as Go's regexp does", () => {
    expect(x("${FOO//o/'<$0>'}")).toBe("f<o><o>");
    expect(x("${FOO//o/'${0}'}")).toBe("foo");
    expect(x("${FOO//o/'$$'}")).toBe("f$$");
    expect(x("${FOO//o/'$1'}")).toBe("f");
    expect(x("${FOO//o/'$'}")).toBe("f$$");
    expect(x("${FOO/o/'<$0>'}")).toBe("f<$0>o");
  });

  it.each<[string, RegExp]>([
    ["${FOO/a}", /^syntax error: missing '\/' in \$\{\}$/],
    ["${FOO//}", /missing '\/'/],
    ["${FOO//ww}", /missing '\/'/],
    ["${FOO/a/b", /^syntax error: missing '}'$/],
    ["${FOO/\\x/y}", /invalid pattern \(\\x\)/],
  ])("%j fails with %s", (word, message) => expect(err(word).message).toMatch(message));
});
