/**
 * Tests for `.dockerignore` (src/frontend/dockerignore.ts and the path patterns in src/frontend/glob.ts),
 * written from Docker's semantics (moby/patternmatcher): cleaning, exceptions, `**`, directory exclusion,
 * the skip-directory check, and the `<Dockerfile>.dockerignore` precedence rule.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GantryError } from "../src/errors.js";
import { IgnoreMatcher, loadDockerignore, parseDockerignore } from "../src/frontend/dockerignore.js";
import { cleanPath } from "../src/frontend/glob.js";

function matcher(text: string): IgnoreMatcher {
  return new IgnoreMatcher(parseDockerignore(text));
}

/** [path, excluded?] pairs checked against one file. */
function expectExcluded(text: string, cases: Array<[string, boolean]>): void {
  const m = matcher(text);
  for (const [p, excluded] of cases) {
    expect({ path: p, excluded: m.matches(p) }).toEqual({ path: p, excluded });
  }
}

function parseError(text: string): GantryError {
  try {
    parseDockerignore(text, "ctx/.dockerignore");
  } catch (e) {
    if (e instanceof GantryError) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

describe("parseDockerignore", () => {
  it("skips comments and blank lines, trims whitespace, handles CRLF and a BOM", () => {
    const patterns = parseDockerignore("\uFEFF# comment\r\n\r\n  foo  \r\n\tbar\t\n   \n#x\nlast");
    expect(patterns.map((p) => p.pattern)).toEqual(["foo", "bar", "last"]);
    expect(patterns.map((p) => p.line)).toEqual([3, 4, 7]);
    expect(patterns[0]!.column).toBe(3);
  });

  it("only treats # in the first column as a comment", () => {
    expect(parseDockerignore(" #x").map((p) => p.pattern)).toEqual(["#x"]);
    expect(parseDockerignore("#x\n\\#y").map((p) => p.pattern)).toEqual(["\\#y"]);
  });

  it("cleans patterns like filepath.Clean and drops a leading slash", () => {
    const cleaned = parseDockerignore(
      [
        "/foo",
        "foo/",
        "./foo",
        "foo//bar",
        "foo/./bar",
        "foo/../bar",
        "/../x",
        "../x",
        "a/b/../../c",
        "/",
      ].join("\n"),
    ).map((p) => p.pattern);
    expect(cleaned).toEqual(["foo", "foo", "foo", "foo/bar", "foo/bar", "bar", "x", "../x", "c", "/"]);
  });

  it("parses exceptions, with spaces after the !", () => {
    const patterns = parseDockerignore("!keep\n!  spaced \n!/abs/\n!!double");
    expect(patterns.map((p) => [p.exclusion, p.pattern])).toEqual([
      [true, "keep"],
      [true, "spaced"],
      [true, "abs"],
      [true, "!double"],
    ]);
  });

  it("records the file name in each pattern", () => {
    expect(parseDockerignore("a", "sub/Dockerfile.dockerignore")[0]!.file).toBe(
      "sub/Dockerfile.dockerignore",
    );
  });

  it.each<[string, RegExp, number, number]>([
    ["!", /illegal exclusion pattern: "!"/, 1, 1],
    ["ok\n  !", /illegal exclusion pattern/, 2, 3],
    ["!/", /illegal exclusion pattern/, 1, 1],
    ["[", /unterminated character class/, 1, 1],
    ["foo\nsrc/[ab", /unterminated character class/, 2, 5],
    ["[]", /empty or malformed range/, 1, 1],
    ["[]a]", /empty or malformed range/, 1, 1],
    ["x[a-]", /empty or malformed range|unterminated/, 1, 2],
    ["[-a]", /empty or malformed range/, 1, 1],
    ["[z-a]", /out of order/, 1, 1],
    ["[^]", /empty or malformed range/, 1, 1],
    ["foo\\", /trailing backslash/, 1, 4],
    ["!bad[", /unterminated character class/, 1, 5],
  ])("rejects %j (%s) at line %d column %d", (text, message, line, column) => {
    const e = parseError(text);
    expect(e.code).toBe("DOCKERIGNORE");
    expect(e.message).toMatch(message);
    expect(e.location).toMatchObject({ file: "ctx/.dockerignore", line, column });
    expect(e.hint).toBeTruthy();
  });

  it("accepts well-formed classes and escapes", () => {
    for (const ok of [
      "[abc]",
      "[a-z]*",
      "[^a]",
      "[!a]",
      "[\\]]",
      "[a\\-z]",
      "\\[",
      "a]b",
      "\\*",
      "**/[0-9]?.txt",
    ]) {
      expect(() => parseDockerignore(ok)).not.toThrow();
    }
  });
});

describe("IgnoreMatcher.matches", () => {
  it("excludes a directory and everything under it", () => {
    expectExcluded("node_modules", [
      ["node_modules", true],
      ["node_modules/x", true],
      ["node_modules/a/b/c.js", true],
      ["src/node_modules", false],
      ["node_modules2", false],
    ]);
  });

  it("`*` and `?` do not cross directories", () => {
    expectExcluded("*.md\nsrc/?.ts", [
      ["a.md", true],
      ["README.md", true],
      ["docs/a.md", false],
      ["src/a.ts", true],
      ["src/ab.ts", false],
      ["src/x/a.ts", false],
      ["x/src/a.ts", false],
    ]);
  });

  it("`**` matches any number of directories", () => {
    expectExcluded("**/*.go", [
      ["a.go", true],
      ["x/a.go", true],
      ["x/y/z/a.go", true],
      ["a.go.txt", false],
    ]);
    expectExcluded("a/**/b", [
      ["a/b", true],
      ["a/x/b", true],
      ["a/x/y/b", true],
      ["a/x/y/b/c", true],
      ["a/xb", false],
      ["b", false],
    ]);
    expectExcluded("**/foo", [
      ["foo", true],
      ["x/foo", true],
      ["x/y/foo/z", true],
      ["xfoo", false],
      ["x/afoo", false],
    ]);
    expectExcluded("a/**", [
      ["a", false],
      ["a/b", true],
      ["a/b/c", true],
      ["ab", false],
    ]);
    expectExcluded("**", [
      ["a", true],
      ["a/b", true],
      [".dockerignore", true],
    ]);
  });

  it("reproduces patternmatcher's `**` shortcuts", () => {
    expectExcluded("**foo", [
      ["foo", true],
      ["barfoo", true],
      ["x/barfoo", true],
    ]);
    expectExcluded("**foo*", [
      ["barfoo", false],
      ["x/foo1", true],
      ["foo", true],
    ]);
    expectExcluded("foo**", [
      ["foobar", true],
      ["foo/x", true],
      ["fo", false],
    ]);
    expectExcluded("a**b", [
      ["ab", true],
      ["a/x/b", true],
      ["axb", false],
    ]);
  });

  it("uses the last matching pattern, exceptions re-including", () => {
    expectExcluded("*.md\n!README.md", [
      ["a.md", true],
      ["README.md", false],
    ]);
    expectExcluded("!README.md\n*.md", [["README.md", true]]);
    expectExcluded("*\n!src\nsrc/*.tmp\n!src/keep.tmp", [
      ["Dockerfile", true],
      ["src", false],
      ["src/a.ts", false],
      ["src/a.tmp", true],
      ["src/keep.tmp", false],
    ]);
  });

  it("lets an exception re-include something under an excluded directory", () => {
    expectExcluded("docs\n!docs/keep.md", [
      ["docs", true],
      ["docs/other.md", true],
      ["docs/keep.md", false],
      ["docs/keep.md/inner", false],
    ]);
    expectExcluded("*\n!*/keep", [
      ["a", true],
      ["a/x", true],
      ["a/keep", false],
      ["a/keep/deep", false],
    ]);
  });

  it("applies a pattern that matches a parent directory, even after an exception", () => {
    expectExcluded("a\n!a/b\na/b/c", [
      ["a/b", false],
      ["a/b/c", true],
      ["a/b/c/d", true],
      ["a/b/d", false],
    ]);
  });

  it("evaluates level by level like BuildKit's walker (a pattern skipped for the parent is not re-applied)", () => {
    // For `d`, the third pattern is never tried (already excluded by `*`); for `d/c` the exception wins
    // and `d` is only tried against `d/c` itself. (docker's classic builder would exclude d/c here.)
    expectExcluded("*\n!d/c\nd", [
      ["d", true],
      ["d/c", false],
      ["d/c/x", false],
      ["d/e", true],
    ]);
  });

  it("matchWithParent gives the same answers incrementally", () => {
    const m = matcher("a\n!a/b\na/b/c\n*.log\n!keep.log");
    const a = m.matchWithParent("a");
    const ab = m.matchWithParent("a/b", a.state);
    const abc = m.matchWithParent("a/b/c", ab.state);
    expect([a.excluded, ab.excluded, abc.excluded]).toEqual([true, false, true]);
    expect(m.matchWithParent("a/b/d", ab.state).excluded).toBe(false);
    expect(m.matchWithParent("x.log").excluded).toBe(true);
    expect(m.matchWithParent("keep.log").excluded).toBe(false);
  });

  it("supports classes, negation with ^ (not !), and escapes", () => {
    expectExcluded("[a-c]?.txt\n[^x]y\n[!q]z\n\\*star\nsp\\ ace\n\\[lit]", [
      ["a1.txt", true],
      ["d1.txt", false],
      ["b/.txt", false],
      ["ay", true],
      ["xy", false],
      ["!z", true],
      ["qz", true],
      ["az", false],
      ["*star", true],
      ["xstar", false],
      ["sp ace", true],
      ["[lit]", true],
      ["l", false],
    ]);
  });

  it("treats regular-expression characters literally", () => {
    expectExcluded("a.b\n(x)+|y$\n{c}", [
      ["a.b", true],
      ["axb", false],
      ["(x)+|y$", true],
      ["{c}", true],
    ]);
  });

  it("normalizes the queried path and never excludes the context root", () => {
    const m = matcher("*\nfoo");
    expect(m.matches(".")).toBe(false);
    expect(m.matches("")).toBe(false);
    expect(m.matches("./foo")).toBe(true);
    expect(m.matches("foo/")).toBe(true);
    expect(m.matches("/foo")).toBe(true);
  });

  it("excludes nothing without patterns", () => {
    const m = new IgnoreMatcher([]);
    expect(m.isEmpty).toBe(true);
    expect(m.matches("anything")).toBe(false);
    expect(m.mayHaveIncludedDescendants("anything")).toBe(true);
  });

  it("handles unicode and files named like patterns", () => {
    expectExcluded("données/*.txt\n日本?", [
      ["données/a.txt", true],
      ["donnees/a.txt", false],
      ["日本語", true],
      ["日本", false],
    ]);
  });
});

describe("IgnoreMatcher.mayHaveIncludedDescendants", () => {
  it("is false for an excluded directory without exceptions", () => {
    const m = matcher("node_modules\n*.log");
    expect(m.mayHaveIncludedDescendants("node_modules")).toBe(false);
    expect(m.mayHaveIncludedDescendants("src")).toBe(true); // not excluded: walk it
  });

  it("is true when an exception could match below the directory", () => {
    const m = matcher("docs\n!docs/keep.md\nbuild\n!other/x");
    expect(m.mayHaveIncludedDescendants("docs")).toBe(true);
    expect(m.mayHaveIncludedDescendants("build")).toBe(false);
  });

  it("sees through wildcards in exceptions", () => {
    expect(matcher("*\n!*/keep").mayHaveIncludedDescendants("a")).toBe(true);
    expect(matcher("a\n!**/keep.txt").mayHaveIncludedDescendants("a")).toBe(true);
    expect(matcher("a\n!a/*/keep").mayHaveIncludedDescendants("a")).toBe(true);
    expect(matcher("a\n!b/*/keep").mayHaveIncludedDescendants("a")).toBe(false);
    expect(matcher("a\nb\n![ab]/keep").mayHaveIncludedDescendants("b")).toBe(true);
    expect(matcher("a\nc\n![ab]/keep").mayHaveIncludedDescendants("c")).toBe(false);
  });

  it("handles nested directories and prefix patterns", () => {
    const m = matcher("a/**\n!a/b/c");
    expect(m.mayHaveIncludedDescendants("a/b")).toBe(true);
    expect(m.mayHaveIncludedDescendants("a/d")).toBe(false);
    expect(matcher("a\n!a/b**").mayHaveIncludedDescendants("a")).toBe(true);
    expect(matcher("a\n!x/b**").mayHaveIncludedDescendants("a")).toBe(false);
    // An exception naming the directory itself cannot re-include anything *below* it once it is excluded.
    expect(matcher("!a\na").mayHaveIncludedDescendants("a")).toBe(false);
  });
});

describe("cleanPath", () => {
  it.each<[string, string]>([
    ["", "."],
    [".", "."],
    ["a/", "a"],
    ["a//b", "a/b"],
    ["./a/./b/.", "a/b"],
    ["a/../..", ".."],
    ["/..", "/"],
    ["/a/../b", "/b"],
    ["../../a", "../../a"],
  ])("%j -> %j", (input, expected) => expect(cleanPath(input)).toBe(expected));
});

describe("loadDockerignore", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), "gantry-dockerignore-"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function context(name: string, files: Record<string, string>): Promise<string> {
    const dir = path.join(root, name);
    for (const [rel, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
      await writeFile(path.join(dir, rel), text);
    }
    await mkdir(dir, { recursive: true });
    return dir;
  }

  it("uses <context>/.dockerignore when there is no Dockerfile-specific file", async () => {
    const dir = await context("root-only", { ".dockerignore": "secret\n", Dockerfile: "FROM scratch\n" });
    const { file, matcher: m } = await loadDockerignore(dir, "Dockerfile");
    expect(file).toBe(path.join(dir, ".dockerignore"));
    expect(m.matches("secret")).toBe(true);
    expect(m.matches("public")).toBe(false);
  });

  it("prefers <Dockerfile>.dockerignore next to the Dockerfile", async () => {
    const dir = await context("specific", {
      ".dockerignore": "from-root\n",
      "build/app.Dockerfile": "FROM scratch\n",
      "build/app.Dockerfile.dockerignore": "from-specific\n",
    });
    const { file, matcher: m } = await loadDockerignore(dir, "build/app.Dockerfile");
    expect(file).toBe(path.join(dir, "build/app.Dockerfile.dockerignore"));
    expect(m.matches("from-specific")).toBe(true);
    expect(m.matches("from-root")).toBe(false);
  });

  it("falls back to the root file for a Dockerfile without its own ignore file", async () => {
    const dir = await context("fallback", {
      ".dockerignore": "from-root\n",
      "build/app.Dockerfile": "FROM scratch\n",
      "build/other.Dockerfile.dockerignore": "not-mine\n",
    });
    const { file, matcher: m } = await loadDockerignore(dir, "build/app.Dockerfile");
    expect(file).toBe(path.join(dir, ".dockerignore"));
    expect(m.matches("from-root")).toBe(true);
    expect(m.matches("not-mine")).toBe(false);
  });

  it("finds Dockerfile.dockerignore at the context root and accepts an absolute Dockerfile path", async () => {
    const dir = await context("absolute", {
      ".dockerignore": "a\n",
      "Dockerfile.dockerignore": "b\n",
    });
    const outside = await context("outside", { "Containerfile.dockerignore": "c\n" });
    expect((await loadDockerignore(dir, "Dockerfile")).matcher.matches("b")).toBe(true);
    expect((await loadDockerignore(dir, path.join(dir, "Dockerfile"))).matcher.matches("a")).toBe(false);
    const fromOutside = await loadDockerignore(dir, path.join(outside, "Containerfile"));
    expect(fromOutside.file).toBe(path.join(outside, "Containerfile.dockerignore"));
    expect(fromOutside.matcher.matches("c")).toBe(true);
  });

  it("returns an empty matcher and no file when there is no ignore file", async () => {
    const dir = await context("none", { Dockerfile: "FROM scratch\n" });
    const { file, matcher: m } = await loadDockerignore(dir, "Dockerfile");
    expect(file).toBeUndefined();
    expect(m.isEmpty).toBe(true);
  });

  it("reports a bad pattern with the file's location", async () => {
    const dir = await context("bad", { ".dockerignore": "ok\n[oops\n" });
    const failure = await loadDockerignore(dir, "Dockerfile").catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(GantryError);
    expect((failure as GantryError).code).toBe("DOCKERIGNORE");
    expect((failure as GantryError).location?.line).toBe(2);
    expect((failure as GantryError).location?.file).toContain(".dockerignore");
  });
});

describe("dockerignore properties", () => {
  const segment = fc
    .string({ unit: fc.constantFrom("a", "b", "c", ".", "-"), minLength: 1, maxLength: 3 })
    .filter((s) => s !== "." && s !== "..");
  const relPath = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join("/"));
  const patternText = fc
    .array(fc.constantFrom("a", "b", "*", "?", "**", "/", "[ab]", "."), { minLength: 1, maxLength: 6 })
    .map((parts) => parts.join(""));
  const patternLine = fc.tuple(fc.boolean(), patternText).map(([bang, p]) => (bang ? `!${p}` : p));
  const patternFile = fc.array(patternLine, { maxLength: 6 }).map((lines) => lines.join("\n"));

  function tryMatcher(text: string): IgnoreMatcher | undefined {
    try {
      return matcher(text);
    } catch (e) {
      if (e instanceof GantryError) return undefined;
      throw e;
    }
  }

  it("a literal path pattern excludes the path and everything below it; a later exception undoes it", () => {
    fc.assert(
      fc.property(relPath, relPath, (p, below) => {
        const m = matcher(p);
        expect(m.matches(p)).toBe(true);
        expect(m.matches(`${p}/${below}`)).toBe(true);
        expect(matcher(`${p}\n!${p}`).matches(p)).toBe(false);
      }),
    );
  });

  it("the last pattern decides: appending the path itself excludes it, appending !path includes it", () => {
    fc.assert(
      fc.property(patternFile, relPath, (text, p) => {
        const base = tryMatcher(text);
        fc.pre(base !== undefined);
        expect(matcher(`${text}\n${p}`).matches(p)).toBe(true);
        expect(matcher(`${text}\n!${p}`).matches(p)).toBe(false);
      }),
    );
  });

  it("walking with matchWithParent agrees with matches for every level", () => {
    fc.assert(
      fc.property(patternFile, relPath, (text, p) => {
        const m = tryMatcher(text);
        fc.pre(m !== undefined);
        const parts = p.split("/");
        let state: ReturnType<IgnoreMatcher["matchWithParent"]>["state"] | undefined;
        for (let depth = 1; depth <= parts.length; depth++) {
          const prefix = parts.slice(0, depth).join("/");
          const level = m!.matchWithParent(prefix, state);
          expect(level.excluded).toBe(m!.matches(prefix));
          state = level.state;
        }
      }),
    );
  });

  it("queried paths are cleaned: a messy spelling matches like its clean form", () => {
    const messy = fc
      .array(fc.constantFrom("a", "b", ".", "..", "", "a.", ".b"), { minLength: 1, maxLength: 5 })
      .map((parts) => parts.join("/"));
    fc.assert(
      fc.property(patternFile, messy, (text, p) => {
        const m = tryMatcher(text);
        fc.pre(m !== undefined);
        const clean = cleanPath(p).replace(/^\/+/, "");
        expect(m!.matches(p)).toBe(clean === "" || clean === "." ? false : m!.matches(clean));
      }),
    );
  });

  it("skipping a directory is safe: no descendant of a skippable directory is included", () => {
    fc.assert(
      fc.property(patternFile, relPath, relPath, (text, dir, below) => {
        const m = tryMatcher(text);
        fc.pre(m !== undefined);
        if (m!.matches(dir) && !m!.mayHaveIncludedDescendants(dir)) {
          expect(m!.matches(`${dir}/${below}`)).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
