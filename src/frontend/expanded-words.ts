/**
 * Which words of an instruction the builder expands with ARG/ENV values (BuildKit's Expand methods): COPY/ADD
 * sources, destination and flags, ENV and LABEL keys and values, USER, WORKDIR, VOLUME, STOPSIGNAL, RUN
 * --mount values (not `from`). Shared by validation (syntax of `${…}`) and the UndefinedVar lint rule.
 */
import type { Instruction, Located } from "./ast.js";

/** The words of `inst` that the builder expands, in order (ARG defaults, EXPOSE and FROM are separate). */
export function expandedWords(inst: Instruction): Located[] {
  switch (inst.kind) {
    case "Copy":
    case "Add": {
      const words: Located[] = [];
      for (const s of inst.sources) {
        if (s.type === "path") words.push(s.path);
        else if (s.heredoc.expand) words.push({ value: s.heredoc.content, range: s.range });
      }
      words.push(inst.dest);
      if (inst.chown) words.push(inst.chown);
      if (inst.chmod) words.push(inst.chmod);
      if (inst.kind === "Add" && inst.checksum) words.push(inst.checksum);
      return words;
    }
    case "Env":
    case "Label":
      return inst.pairs.flatMap((p) => [p.key, p.value]);
    case "User":
      return [inst.user];
    case "Workdir":
      return [inst.path];
    case "Volume":
      return inst.paths;
    case "Stopsignal":
      return [inst.signal];
    case "Run":
      return inst.mounts.flatMap((m) =>
        m.fields
          .filter((f) => f.key !== "from" && f.value !== undefined)
          .map((f) => ({ value: f.value!, range: m.range })),
      );
    default:
      return [];
  }
}
