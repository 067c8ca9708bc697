/** Lint rules: each fires on a bad example and stays quiet on a good one; `# check=` skip/error/experimental. */
import { describe, expect, it } from "vitest";
import { ParseError } from "../src/errors.js";
import { buildAst } from "../src/frontend/ast-build.js";
import { IgnoreMatcher, parseDockerignore } from "../src/frontend/dockerignore.js";
import { LINT_RULES, type LintFinding, lintDockerfile } from "../src/frontend/lint/index.js";
import { parseDockerfile } from "../src/frontend/parse.js";

function lint(src: string, dockerignore?: string) {
  const raw = parseDockerfile(src, "Dockerfile");
  const ignore = dockerignore === undefined ? undefined : new IgnoreMatcher(parseDockerignore(dockerignore));
  return lintDockerfile(raw, buildAst(raw), { ignore });
}

function findings(src: string, rule: string, dockerignore?: string): LintFinding[] {
  return lint(src, dockerignore).findings.filter((f) => f.rule === rule);
}

interface RuleCase {
  rule: string;
  bad: string;
  good: string;
  message: RegExp;
  /** 1-based line and column of the first finding on `bad`. */
  at?: [number, number];
  count?: number;
  suggestion?: string;
  dockerignore?: string;
}

const X = "# check=experimental=all\n";

const cases: RuleCase[] = [
  {
    rule: "StageNameCasing",
    bad: "FROM a AS Build",
    good: "FROM a AS build",
    message: /^Stage name 'Build' should be lowercase$/,
    at: [1, 11],
    suggestion: "build",
  },
  {
    rule: "FromAsCasing",
    bad: "FROM a as b",
    good: "from a as b\nFROM c AS d",
    message: /^'as' and 'FROM' keywords' casing do not match$/,
    at: [1, 8],
  },
  {
    rule: "NoEmptyContinuation",
    bad: "FROM a\nRUN echo a \\\n\n  b",
    good: "FROM a\nRUN echo a \\\n  b",
    message: /^Empty continuation line$/,
  },
  {
    rule: "ConsistentInstructionCasing",
    bad: "FROM a\nRUN x\nrun y\nCOPY a b",
    good: "from a\nrun x",
    message: /^Command 'run' should match the case of the command majority \(uppercase\)$/,
    at: [3, 1],
  },
  {
    rule: "DuplicateStageName",
    bad: "FROM a AS b\nFROM c AS B",
    good: "FROM a AS b\nFROM c AS d",
    message: /^Duplicate stage name "b", stage names should be unique$/,
    at: [2, 11],
  },
  {
    rule: "ReservedStageName",
    bad: "FROM a AS scratch",
    good: "FROM scratch AS base",
    message: /^Stage name should not use the same name as reserved stage "scratch"$/,
  },
  {
    rule: "JSONArgsRecommended",
    bad: "FROM a\nCMD echo hi",
    good: 'FROM a\nCMD ["echo", "hi"]\nFROM a AS s\nSHELL ["/bin/sh", "-c"]\nENTRYPOINT run',
    message: /^JSON arguments recommended for CMD to prevent unintended behavior related to OS signals$/,
    at: [2, 5],
  },
  {
    rule: "MaintainerDeprecated",
    bad: "FROM a\nMAINTAINER me",
    good: "FROM a\nLABEL org.opencontainers.image.authors=me",
    message: /^Maintainer instruction is deprecated in favor of using label$/,
  },
  {
    rule: "UndefinedArgInFrom",
    bad: "ARG VERSION=1\nFROM alpine:$VERSON",
    good: "ARG VERSION=1\nFROM --platform=$BUILDPLATFORM alpine:$VERSION",
    message: /^FROM argument 'VERSON' is not declared \(did you mean VERSION\?\)$/,
    suggestion: "VERSION",
  },
  {
    rule: "WorkdirRelativePath",
    bad: "FROM a\nWORKDIR app",
    good: "FROM a\nWORKDIR /app\nWORKDIR sub\nFROM a AS b\nWORKDIR /x\nFROM b\nWORKDIR rel",
    message: /^Relative workdir "app" can have unexpected results if the base image changes$/,
    at: [2, 9],
  },
  {
    rule: "UndefinedVar",
    bad: "FROM a\nENV FOO=1\nCOPY $FOOO /x",
    good: "FROM a\nARG V\nENV FOO=1\nCOPY $FOO$V$HTTP_PROXY /x\nRUN echo $UNDEFINED_IN_RUN",
    message: /^Usage of undefined variable '\$FOOO' \(did you mean \$FOO\?\)$/,
    at: [3, 6],
    suggestion: "$FOO",
  },
  {
    rule: "MultipleInstructionsDisallowed",
    bad: 'FROM a\nCMD ["a"]\nCMD ["b"]',
    good: 'FROM a\nCMD ["a"]\nFROM b\nCMD ["b"]',
    message:
      /^Multiple CMD instructions should not be used in the same stage because only the last one will be used$/,
    at: [2, 1],
  },
  {
    rule: "LegacyKeyValueFormat",
    bad: "FROM a\nENV K V",
    good: "FROM a\nENV K=V\nLABEL a=b",
    message: /^"ENV key=value" should be used instead of legacy "ENV key value" format$/,
  },
  {
    rule: "RedundantTargetPlatform",
    bad: "FROM --platform=$TARGETPLATFORM a",
    good: "FROM --platform=$BUILDPLATFORM a",
    message:
      /^Setting platform to predefined \$TARGETPLATFORM in FROM is redundant as this is the default behavior$/,
  },
  {
    rule: "SecretsUsedInArgOrEnv",
    bad: "FROM a\nARG GITHUB_TOKEN",
    good: "FROM a\nARG PUBLIC_KEY\nENV KEYBOARD=us",
    message: /^Do not use ARG or ENV instructions for sensitive data \(ARG "GITHUB_TOKEN"\)$/,
  },
  {
    rule: "InvalidDefaultArgInFrom",
    bad: "ARG TAG\nFROM alpine:$TAG",
    good: "ARG TAG=3.20\nFROM alpine:$TAG",
    message: /^Default value for ARG alpine:\$TAG results in empty or invalid base image name$/,
  },
  {
    rule: "FromPlatformFlagConstDisallowed",
    bad: "FROM --platform=linux/amd64 a AS build",
    good: "FROM --platform=linux/amd64 a AS build-amd64",
    message: /^FROM --platform flag should not use constant value "linux\/amd64"$/,
  },
  {
    rule: "ExposeProtoCasing",
    bad: "FROM a\nEXPOSE 80/TCP",
    good: "FROM a\nEXPOSE 80/tcp 53/udp 8080",
    message: /^Defined protocol '80\/TCP' in EXPOSE instruction should be lowercase$/,
    suggestion: "80/tcp",
  },
  {
    rule: "ExposeInvalidFormat",
    bad: "FROM a\nEXPOSE 127.0.0.1:80:80",
    good: "FROM a\nEXPOSE 80",
    message:
      /^EXPOSE instruction should not define an IP address or host-port mapping, found '127.0.0.1:80:80'$/,
  },
  {
    rule: "CopyIgnoredFile",
    bad: `${X}FROM a\nCOPY ./tmp/x.txt /x`,
    good: `${X}FROM a\nCOPY ./src /x\nCOPY --from=b tmp /y`,
    message: /^Attempting to Copy file "\.\/tmp\/x\.txt" that is excluded by \.dockerignore$/,
    dockerignore: "tmp\n",
  },
  {
    rule: "InvalidDefinitionDescription",
    bad: `${X}\n# the base image\nFROM a AS base`,
    good: `${X}\n# base the base image\nFROM a AS base`,
    message: /^Comment for FROM should follow the format: `# base <description>`$/,
  },
  {
    rule: "UnknownStageName",
    bad: "FROM a AS build\nFROM b\nCOPY --from=biuld /a /b",
    good: "FROM a AS base\nFROM bash\nFROM a AS build\nFROM b\nCOPY --from=build /a /b\nCOPY --from=alpine /c /d",
    message: /"biuld" is not a stage.*did you mean build\?/,
    suggestion: "build",
  },
];

describe("lint rules", () => {
  it("every registered rule has a test case", () => {
    const tested = new Set(cases.map((c) => c.rule));
    expect(LINT_RULES.map((r) => r.name).filter((n) => !tested.has(n))).toEqual([]);
  });

  for (const c of cases) {
    describe(c.rule, () => {
      it("fires", () => {
        const found = findings(c.bad, c.rule, c.dockerignore);
        expect(found.length).toBeGreaterThanOrEqual(c.count ?? 1);
        expect(found[0]!.message).toMatch(c.message);
        expect(found[0]!.severity).toBe("warning");
        if (c.at) expect([found[0]!.range.start.line, found[0]!.range.start.column]).toEqual(c.at);
        if (c.suggestion) expect(found[0]!.suggestion).toBe(c.suggestion);
      });
      it("does not fire", () => {
        expect(findings(c.good, c.rule, c.dockerignore)).toEqual([]);
      });
    });
  }
});

describe("# check= directive", () => {
  const bad = "FROM a AS Build\nMAINTAINER me\nCMD echo";

  it("reports everything by default, as warnings, without failing", () => {
    const r = lint(bad);
    expect(r.findings.map((f) => f.rule).sort()).toEqual([
      "JSONArgsRecommended",
      "MaintainerDeprecated",
      "StageNameCasing",
    ]);
    expect(r.failed).toBe(false);
  });

  it("skip=A,B drops those rules", () => {
    const r = lint(`# check=skip=StageNameCasing, MaintainerDeprecated\n${bad}`);
    expect(r.findings.map((f) => f.rule)).toEqual(["JSONArgsRecommended"]);
  });

  it("skip=all drops every rule", () => {
    expect(lint(`# check=skip=all\n${bad}`).findings).toEqual([]);
  });

  it("error=true makes findings errors and fails", () => {
    const r = lint(`# check=error=true\n${bad}`);
    expect(r.failed).toBe(true);
    expect(r.findings.every((f) => f.severity === "error")).toBe(true);
  });

  it("error=true without findings does not fail", () => {
    expect(lint('# check=error=true\nFROM a\nCMD ["x"]').failed).toBe(false);
  });

  it("skip and error combine", () => {
    const r = lint(`#check=skip=all;error=true\n${bad}`);
    expect(r.failed).toBe(false);
  });

  it("experimental rules are off unless enabled", () => {
    const src = "\n# the base\nFROM a AS base";
    expect(findings(src, "InvalidDefinitionDescription")).toEqual([]);
    expect(
      findings(`# check=experimental=InvalidDefinitionDescription\n${src}`, "InvalidDefinitionDescription"),
    ).toHaveLength(1);
  });

  it("an unknown rule name is reported with a suggestion", () => {
    const r = lint(`# check=skip=StageNameCasng\n${bad}`);
    const f = r.findings.find((x) => x.rule === "InvalidCheckDirective");
    expect(f?.message).toMatch(/unknown lint rule "StageNameCasng".*did you mean StageNameCasing\?/);
  });

  it("a malformed directive is a ParseError", () => {
    expect(() => lint(`# check=skip\n${bad}`)).toThrow(ParseError);
    expect(() => lint(`# check=error=maybe\n${bad}`)).toThrow(/failed to parse check options/);
  });
});

describe("scoping", () => {
  it("a stage built on another inherits its ENV and ARGs", () => {
    const src = "FROM a AS base\nENV APP=/app\nARG V\nFROM base\nCOPY $APP$V /x";
    expect(findings(src, "UndefinedVar")).toEqual([]);
  });

  it("ENV values see the environment before the instruction", () => {
    expect(findings("FROM a\nENV A=1 B=$A", "UndefinedVar").map((f) => f.message)).toEqual([
      "Usage of undefined variable '$A'",
    ]);
  });

  it("global ARGs are not visible in a stage without ARG", () => {
    expect(findings("ARG V=1\nFROM a\nCOPY $V /x", "UndefinedVar")).toHaveLength(1);
    expect(findings("ARG V=1\nFROM a\nARG V\nCOPY $V /x", "UndefinedVar")).toEqual([]);
  });

  it("a misspelt stage in FROM or --mount from= gets a suggestion", () => {
    const src = "FROM a AS builder\nFROM buidler\nRUN --mount=from=buildr,target=/x make";
    expect(findings(src, "UnknownStageName").map((f) => [f.range.start.line, f.suggestion])).toEqual([
      [2, "builder"],
      [3, "builder"],
    ]);
  });

  it("predefined platform args are declared for FROM", () => {
    expect(findings("FROM --platform=$BUILDPLATFORM a:$TARGETARCH", "UndefinedArgInFrom")).toEqual([]);
  });
});
