/** Validation: every InstructionError buildAst raises, with its message, location and hint. */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile sources contain ${…} on purpose
import { describe, expect, it } from "vitest";
import { ExpansionError, InstructionError } from "../src/errors.js";
import { buildAst } from "../src/frontend/ast-build.js";
import { parseDockerfile } from "../src/frontend/parse.js";
import { suggest } from "../src/frontend/suggest.js";
import { validateDockerfile } from "../src/frontend/validate.js";
import { rawFromLines } from "./helpers/raw-builder.js";

interface Case {
  name: string;
  src: string;
  message: RegExp;
  line: number;
  column: number;
  endColumn?: number;
  hint?: RegExp;
}

function errorOf(src: string): InstructionError {
  try {
    buildAst(parseDockerfile(src, "Dockerfile"));
  } catch (err) {
    if (err instanceof InstructionError) return err;
    throw err;
  }
  throw new Error("expected an InstructionError");
}

const cases: Case[] = [
  {
    name: "unknown flag with suggestion",
    src: "FROM a\nCOPY --lnk a b",
    message: /^unknown flag: lnk$/,
    line: 2,
    column: 6,
    endColumn: 11,
    hint: /did you mean --link\?/,
  },
  {
    name: "unknown flag on RUN",
    src: "FROM a\nRUN --mont=type=cache,target=/x make",
    message: /unknown flag: mont/,
    line: 2,
    column: 5,
    hint: /--mount/,
  },
  {
    name: "flag on an instruction without flags",
    src: "FROM a\nUSER --x=1 app",
    message: /unknown flag: x/,
    line: 2,
    column: 6,
    hint: /takes no flags/,
  },
  {
    name: "repeated non-repeatable flag",
    src: "FROM a\nCOPY --from=a --from=b x y",
    message: /^duplicate flag specified: from$/,
    line: 2,
    column: 15,
    endColumn: 23,
  },
  {
    name: "string flag without value",
    src: "FROM a\nCOPY --chown x y",
    message: /^missing a value on flag: chown$/,
    line: 2,
    column: 6,
  },
  {
    name: "string flag with empty value",
    src: "FROM --platform= a",
    message: /missing a value on flag: platform/,
    line: 1,
    column: 6,
  },
  {
    name: "bool flag with empty value",
    src: "FROM a\nCOPY --link= x y",
    message: /missing a value on flag: link/,
    line: 2,
    column: 6,
  },
  {
    name: "bool flag with bad value",
    src: "FROM a\nCOPY --link=yes x y",
    message: /expecting boolean value for flag link, not: yes/,
    line: 2,
    column: 13,
    endColumn: 16,
  },
  {
    name: "FROM with two args",
    src: "FROM a AS",
    message: /FROM requires either one or three arguments/,
    line: 1,
    column: 8,
  },
  {
    name: "FROM with four args",
    src: "FROM a AS b c",
    message: /FROM requires either one or three arguments/,
    line: 1,
    column: 13,
    hint: /spaces/,
  },
  {
    name: "FROM without args",
    src: "FROM",
    message: /FROM requires either one or three arguments/,
    line: 1,
    column: 1,
  },
  {
    name: "bad stage name",
    src: "FROM a AS 1st",
    message: /invalid name for build stage: "1st"/,
    line: 1,
    column: 11,
    endColumn: 14,
  },
  {
    name: "stage name with symbols",
    src: "FROM a AS b@c",
    message: /invalid name for build stage/,
    line: 1,
    column: 11,
  },
  {
    name: "USER without args",
    src: "FROM a\nUSER",
    message: /USER requires exactly one argument/,
    line: 2,
    column: 1,
    hint: /USER <user>/,
  },
  {
    name: "WORKDIR without args",
    src: "FROM a\nWORKDIR",
    message: /WORKDIR requires exactly one argument/,
    line: 2,
    column: 1,
  },
  {
    name: "STOPSIGNAL without args",
    src: "FROM a\nSTOPSIGNAL",
    message: /STOPSIGNAL requires exactly one argument/,
    line: 2,
    column: 1,
  },
  {
    name: "MAINTAINER without args",
    src: "FROM a\nMAINTAINER",
    message: /MAINTAINER requires exactly one argument/,
    line: 2,
    column: 1,
  },
  {
    name: "COPY with one arg",
    src: "FROM a\nCOPY x",
    message: /COPY requires at least two arguments/,
    line: 2,
    column: 6,
  },
  {
    name: "ADD without args",
    src: "FROM a\nADD",
    message: /ADD requires at least two arguments/,
    line: 2,
    column: 1,
  },
  {
    name: "COPY --from with a variable",
    src: "FROM a\nCOPY --from=$STAGE x y",
    message: /'--from' doesn't support variable expansion/,
    line: 2,
    column: 13,
    endColumn: 19,
  },
  {
    name: "heredoc as COPY destination",
    src: "FROM a\nCOPY x <<EOF\nbody\nEOF",
    message: /COPY cannot accept a heredoc as a destination/,
    line: 2,
    column: 8,
  },
  {
    name: "ONBUILD ONBUILD",
    src: "FROM a\nONBUILD ONBUILD RUN x",
    message: /Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed/,
    line: 2,
    column: 9,
    endColumn: 16,
  },
  {
    name: "ONBUILD FROM",
    src: "FROM a\nONBUILD FROM b",
    message: /FROM isn't allowed as an ONBUILD trigger/,
    line: 2,
    column: 9,
  },
  {
    name: "ONBUILD MAINTAINER",
    src: "FROM a\nonbuild maintainer me",
    message: /MAINTAINER isn't allowed as an ONBUILD trigger/,
    line: 2,
    column: 9,
  },
  {
    name: "ONBUILD with a bad trigger",
    src: "FROM a\nONBUILD COPY --nope x y",
    message: /unknown flag: nope/,
    line: 2,
    column: 14,
  },
  {
    name: "SHELL not JSON",
    src: "FROM a\nSHELL /bin/sh -c",
    message: /SHELL requires the arguments to be in JSON form/,
    line: 2,
    column: 7,
  },
  {
    name: "SHELL with single quotes",
    src: "FROM a\nSHELL ['/bin/sh']",
    message: /JSON form/,
    line: 2,
    column: 7,
    hint: /double quotes/,
  },
  {
    name: "SHELL empty",
    src: "FROM a\nSHELL []",
    message: /SHELL requires at least one argument/,
    line: 2,
    column: 1,
  },
  {
    name: "VOLUME empty entry",
    src: 'FROM a\nVOLUME ["/a", " "]',
    message: /VOLUME specified can not be an empty string/,
    line: 2,
    column: 15,
  },
  {
    name: "HEALTHCHECK bad duration",
    src: "FROM a\nHEALTHCHECK --interval=5 CMD true",
    message: /missing unit in duration "5"/,
    line: 2,
    column: 24,
  },
  {
    name: "HEALTHCHECK duration below 1ms",
    src: "FROM a\nHEALTHCHECK --timeout=10us CMD true",
    message: /Interval "timeout" cannot be less than 1ms/,
    line: 2,
    column: 23,
  },
  {
    name: "HEALTHCHECK negative retries",
    src: "FROM a\nHEALTHCHECK --retries=-1 CMD true",
    message: /--retries cannot be negative \(-1\)/,
    line: 2,
    column: 23,
  },
  {
    name: "HEALTHCHECK bad retries",
    src: "FROM a\nHEALTHCHECK --retries=x CMD true",
    message: /invalid value for --retries/,
    line: 2,
    column: 23,
  },
  {
    name: "HEALTHCHECK unknown type",
    src: "FROM a\nHEALTHCHECK CHECK true",
    message: /Unknown type "CHECK" in HEALTHCHECK \(try CMD\)/,
    line: 2,
    column: 13,
  },
  {
    name: "HEALTHCHECK NONE with args",
    src: "FROM a\nHEALTHCHECK NONE x",
    message: /HEALTHCHECK NONE takes no arguments/,
    line: 2,
    column: 18,
  },
  {
    name: "HEALTHCHECK CMD without command",
    src: "FROM a\nHEALTHCHECK CMD",
    message: /Missing command after HEALTHCHECK CMD/,
    line: 2,
    column: 13,
  },
  {
    name: "HEALTHCHECK unknown flag",
    src: "FROM a\nHEALTHCHECK --intervl=5s CMD true",
    message: /unknown flag: intervl/,
    line: 2,
    column: 13,
    hint: /--interval/,
  },
  {
    name: "unknown instruction RUNN",
    src: "FROM a\nRUNN make",
    message: /^unknown instruction: RUNN$/,
    line: 2,
    column: 1,
    endColumn: 5,
    hint: /did you mean RUN\?/,
  },
  {
    name: "unknown instruction COPPY",
    src: "FROM a\nCOPPY a b",
    message: /unknown instruction: COPPY/,
    line: 2,
    column: 1,
    hint: /did you mean COPY\?/,
  },
  {
    name: "unknown instruction without suggestion",
    src: "FROM a\nFROBNICATE x",
    message: /unknown instruction: FROBNICATE/,
    line: 2,
    column: 1,
  },
  {
    name: "instruction before FROM",
    src: "RUN x\nFROM a",
    message: /no build stage in current context/,
    line: 1,
    column: 1,
  },
  {
    name: "ENV without args",
    src: "FROM a\nENV",
    message: /ENV requires at least one argument/,
    line: 2,
    column: 1,
  },
  {
    name: "ARG with blank name",
    src: "FROM a\nARG =x",
    message: /ARG names can not be blank/,
    line: 2,
    column: 5,
  },
  {
    name: "RUN bad network",
    src: "FROM a\nRUN --network=nnone x",
    message: /unsupported network mode "nnone"/,
    line: 2,
    column: 15,
    hint: /did you mean none\?/,
  },
  {
    name: "RUN bad security",
    src: "FROM a\nRUN --security=root x",
    message: /unsupported security mode "root"/,
    line: 2,
    column: 16,
  },
  {
    name: "mount: bad type",
    src: "FROM a\nRUN --mount=type=cahce,target=/x x",
    message: /unsupported mount type "cahce"/,
    line: 2,
    column: 13,
    endColumn: 23,
    hint: /did you mean cache\?/,
  },
  {
    name: "mount: unknown key",
    src: "FROM a\nRUN --mount=type=cache,traget=/x x",
    message: /unexpected key 'traget'/,
    line: 2,
    column: 24,
    hint: /did you mean target\?/,
  },
  {
    name: "mount: bad sharing",
    src: "FROM a\nRUN --mount=type=cache,target=/x,sharing=all x",
    message: /unsupported sharing value "all"/,
    line: 2,
    column: 34,
  },
  {
    name: "mount: sharing on bind",
    src: "FROM a\nRUN --mount=target=/x,sharing=shared x",
    message: /invalid cache sharing set for bind mount/,
    line: 2,
    column: 23,
  },
  {
    name: "mount: mode on bind",
    src: "FROM a\nRUN --mount=type=bind,target=/x,mode=0644 x",
    message: /mode not allowed for "bind" type mounts/,
    line: 2,
    column: 33,
  },
  {
    name: "mount: bad mode",
    src: "FROM a\nRUN --mount=type=cache,target=/x,mode=999 x",
    message: /invalid value 999 for mode/,
    line: 2,
    column: 34,
  },
  {
    name: "mount: required on cache",
    src: "FROM a\nRUN --mount=type=cache,target=/x,required x",
    message: /unexpected key 'required' for mount type 'cache'/,
    line: 2,
    column: 34,
  },
  {
    name: "mount: from with a variable",
    src: "FROM a\nRUN --mount=from=$X,target=/x x",
    message: /'from' doesn't support variable expansion/,
    line: 2,
    column: 13,
  },
  {
    name: "mount: secret without id or target",
    src: "FROM a\nRUN --mount=type=secret x",
    message: /invalid secret mount/,
    line: 2,
    column: 13,
  },
  {
    name: "mount: field without =",
    src: "FROM a\nRUN --mount=type=cache,bogus x",
    message: /invalid field 'bogus' must be a key=value pair/,
    line: 2,
    column: 24,
  },
  {
    name: "mount: bad readonly value",
    src: "FROM a\nRUN --mount=type=bind,target=/x,ro=maybe x",
    message: /invalid value for ro: maybe/,
    line: 2,
    column: 33,
  },
];

describe("validation errors", () => {
  for (const c of cases) {
    it(c.name, () => {
      const err = errorOf(c.src);
      expect(err.code).toBe("INSTRUCTION");
      expect(err.message).toMatch(c.message);
      expect(err.location).toMatchObject({ file: "Dockerfile", line: c.line, column: c.column });
      expect(err.location?.sourceLine).toBe(c.src.split("\n")[c.line - 1]);
      if (c.endColumn !== undefined) expect(err.location?.endColumn).toBe(c.endColumn);
      if (c.hint) expect(err.hint).toMatch(c.hint);
    });
  }
});

describe("valid flag forms", () => {
  it.each([
    "COPY --link a b",
    "COPY --link=true a b",
    "COPY --link=FALSE a b",
    "COPY --link=True --parents=false a b",
    "COPY --exclude=a --exclude=b x y",
    "ADD --unpack=true a.tar /",
    "RUN --mount=type=bind --mount=type=cache,target=/c x",
    "HEALTHCHECK --interval=0 --timeout=1ms --retries=0 CMD true",
    "STOPSIGNAL --whatever=1 SIGTERM",
    "USER a b",
    "ARG --foo=bar X",
  ])("%s", (line) => {
    expect(() => buildAst(parseDockerfile(`FROM a\n${line}`, "Dockerfile"))).not.toThrow();
  });

  it("ignores flags after --", () => {
    const ast = buildAst(parseDockerfile("FROM a\nCOPY -- --notaflag /x", "Dockerfile"));
    const copy = ast.stages[0]!.instructions[0]!;
    expect(copy.kind === "Copy" && copy.sources[0]!.type === "path" && copy.sources[0]!.path.value).toBe(
      "--notaflag",
    );
  });

  it("uses hand-built raw trees too", () => {
    expect(() => buildAst(rawFromLines("FROM a\nCOPY --lnk a b"))).toThrow(/unknown flag: lnk/);
  });
});

describe("suggest", () => {
  it("finds close words and rejects far ones", () => {
    expect(suggest("RUNN", ["FROM", "RUN", "COPY"], true)).toBe("RUN");
    expect(suggest("biuld", ["build", "test"])).toBe("build");
    expect(suggest("foo", ["FOO"])).toBe("FOO");
    expect(suggest("zzzzzz", ["build", "test"])).toBeUndefined();
    expect(suggest("build", ["build"])).toBeUndefined();
  });
});

describe("expansion syntax", () => {
  function expansionError(src: string): ExpansionError {
    try {
      validateDockerfile(parseDockerfile(src, "Dockerfile"));
    } catch (err) {
      if (err instanceof ExpansionError) return err;
      throw err;
    }
    throw new Error("expected an ExpansionError");
  }

  it.each([
    ["COPY source", "FROM a\nCOPY ${foo /x", 2, 6],
    ["global ARG default", "ARG V=${x:#y}\nFROM a", 1, 7],
    ["FROM image", "FROM alpine:${TAG", 1, 13],
    ["ENV value", "FROM a\nENV A=x${}", 2, 8],
    ["EXPOSE port", "FROM a\nEXPOSE 80 ${p", 2, 11],
    ["RUN --mount value", "FROM a\nRUN --mount=type=cache,target=${T x", 2, 13],
  ])("%s", (_name, src, line, column) => {
    const err = expansionError(src);
    expect(err.code).toBe("EXPANSION");
    expect(err.message).toMatch(/^failed to process /);
    expect(err.location).toMatchObject({ line, column });
  });

  it("leaves RUN/CMD text and unset variables alone", () => {
    expect(() =>
      validateDockerfile(
        parseDockerfile("FROM a\nRUN echo ${x\nCMD ${y\nCOPY ${UNSET:?must_be_set} /x", "Dockerfile"),
      ),
    ).not.toThrow();
  });
});

describe("stage references", () => {
  const check = (src: string) => () => validateDockerfile(parseDockerfile(src, "Dockerfile"));

  it("rejects COPY --from a later or the current stage", () => {
    expect(check("FROM a AS one\nCOPY --from=two /x /y\nFROM b AS two")).toThrow(
      'cannot copy from stage "two", it needs to be defined before current stage "one"',
    );
    expect(check("FROM a\nCOPY --from=0 /x /y")).toThrow(/cannot copy from stage "stage-0"/);
  });

  it("rejects an out-of-range stage index at the flag value", () => {
    try {
      check("FROM a\nFROM b\nCOPY --from=5 /x /y")();
      throw new Error("no error");
    } catch (err) {
      expect((err as InstructionError).message).toBe("invalid stage index 5");
      expect((err as InstructionError).location).toMatchObject({ line: 3, column: 13, endColumn: 14 });
    }
  });

  it("rejects RUN --mount from a later stage", () => {
    expect(check("FROM a\nRUN --mount=from=later,target=/x make\nFROM b AS later")).toThrow(
      /cannot mount from stage "later"/,
    );
  });

  it("accepts earlier stages, indexes and images", () => {
    expect(
      check(
        "FROM a AS one\nFROM b\nCOPY --from=one /x /y\nCOPY --from=0 /x /y\nCOPY --from=alpine:3 /x /y\nRUN --mount=from=ONE make",
      ),
    ).not.toThrow();
  });
});
