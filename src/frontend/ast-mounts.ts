/**
 * `RUN --mount=…` specs: the CSV form (`type=cache,target=/root/.cache,sharing=locked`) parsed into typed
 * `RunMount`s and checked as BuildKit's commands_runmount.go does (known keys per type, bool/octal/int
 * values, sharing modes, secret-mount rules). Errors point at the offending field when it can be located.
 */
import type { Located, MountType, RunMount } from "./ast.js";
import type { SourceRange } from "./raw.js";
import { suggest } from "./suggest.js";
import { instructionError, type SourceText } from "./validate-location.js";

const MOUNT_TYPES: readonly MountType[] = ["bind", "cache", "tmpfs", "secret", "ssh"];
const SHARING_MODES = ["shared", "private", "locked"] as const;
const ALL_KEYS = [
  "type",
  "from",
  "source",
  "target",
  "readonly",
  "id",
  "sharing",
  "required",
  "mode",
  "uid",
  "gid",
  "src",
  "dst",
  "destination",
  "ro",
  "rw",
  "readwrite",
  "env",
  "size",
];

interface CsvField {
  text: string;
  /** Code-point offset of the field in the flag value. */
  offset: number;
  length: number;
}

/** Splits one CSV record (RFC 4180 quoting, as Go's encoding/csv reads it). */
function splitCsv(value: string): CsvField[] | string {
  const chars = Array.from(value);
  const fields: CsvField[] = [];
  let i = 0;
  for (;;) {
    const start = i;
    let text = "";
    if (chars[i] === '"') {
      i++;
      for (;;) {
        if (i >= chars.length) return 'extraneous or missing " in quoted-field';
        if (chars[i] === '"') {
          if (chars[i + 1] === '"') {
            text += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        text += chars[i];
        i++;
      }
      if (i < chars.length && chars[i] !== ",") return 'extraneous or missing " in quoted-field';
    } else {
      while (i < chars.length && chars[i] !== ",") {
        if (chars[i] === '"') return 'bare " in non-quoted-field';
        text += chars[i];
        i++;
      }
    }
    fields.push({ text, offset: start, length: i - start });
    if (i >= chars.length) break;
    i++; // the comma
  }
  return fields;
}

/** The range of `length` code points at `offset` inside `base`, when `base` is exactly `valueLength` wide. */
function subRange(base: SourceRange, valueLength: number, offset: number, length: number): SourceRange {
  if (base.start.line !== base.end.line || base.end.column - base.start.column !== valueLength) return base;
  const line = base.start.line;
  return {
    start: { line, column: base.start.column + offset },
    end: { line, column: base.start.column + offset + Math.max(1, length) },
  };
}

function parseBool(v: string): boolean | undefined {
  const l = v.toLowerCase();
  if (["1", "t", "true"].includes(l)) return true;
  if (["0", "f", "false"].includes(l)) return false;
  return undefined;
}

/** Parses one `--mount` value; throws `InstructionError` at the bad field. */
export function parseMount(src: SourceText, spec: Located): RunMount {
  const valueLength = Array.from(spec.value).length;
  const fail = (message: string, at?: CsvField, hint?: string): never => {
    const range = at ? subRange(spec.range, valueLength, at.offset, at.length) : spec.range;
    throw instructionError(src, range, message, hint);
  };
  const fields = splitCsv(spec.value);
  if (typeof fields === "string") fail(`failed to parse csv mounts: ${fields}`);
  const mount: RunMount = { type: "bind", readonly: true, fields: [], range: spec.range };
  let readonlyAuto = true;
  let typeField: CsvField | undefined;
  const where: Record<string, CsvField> = {};
  for (const field of fields as CsvField[]) {
    const eq = field.text.indexOf("=");
    const key = (eq < 0 ? field.text : field.text.slice(0, eq)).toLowerCase();
    const value = eq < 0 ? undefined : field.text.slice(eq + 1);
    mount.fields.push(value === undefined ? { key } : { key, value });
    where[key] = field;
    if (value === undefined) {
      if (key === "readonly" || key === "ro") {
        mount.readonly = true;
        readonlyAuto = false;
        continue;
      }
      if (key === "readwrite" || key === "rw") {
        mount.readonly = false;
        readonlyAuto = false;
        continue;
      }
      if (key === "required") {
        if (mount.type !== "secret" && mount.type !== "ssh") {
          fail(`unexpected key '${key}' for mount type '${mount.type}'`, field);
        }
        mount.required = true;
        continue;
      }
      fail(`invalid field '${field.text}' must be a key=value pair`, field);
    }
    const v = value as string;
    switch (key) {
      case "type": {
        const t = v.toLowerCase();
        if (!(MOUNT_TYPES as readonly string[]).includes(t)) {
          const close = suggest(v, MOUNT_TYPES, true);
          fail(
            `unsupported mount type "${v}"`,
            field,
            close ? `did you mean ${close}?` : `use one of: ${MOUNT_TYPES.join(", ")}`,
          );
        }
        mount.type = t as MountType;
        typeField = field;
        break;
      }
      case "from":
        if (/\$./.test(v))
          fail("'from' doesn't support variable expansion, define alias stage instead", field);
        mount.from = v;
        break;
      case "source":
      case "src":
        mount.source = v;
        break;
      case "target":
      case "dst":
      case "destination":
        mount.target = v;
        break;
      case "readonly":
      case "ro":
      case "readwrite":
      case "rw": {
        const b = parseBool(v);
        if (b === undefined) fail(`invalid value for ${key}: ${v}`, field, "use true or false");
        mount.readonly = key === "readonly" || key === "ro" ? (b as boolean) : !b;
        readonlyAuto = false;
        break;
      }
      case "required": {
        if (mount.type !== "secret" && mount.type !== "ssh") {
          fail(`unexpected key '${key}' for mount type '${mount.type}'`, field);
        }
        const b = parseBool(v);
        if (b === undefined) fail(`invalid value for ${key}: ${v}`, field, "use true or false");
        mount.required = b as boolean;
        break;
      }
      case "id":
        mount.id = v;
        break;
      case "sharing": {
        const s = v.toLowerCase();
        if (!(SHARING_MODES as readonly string[]).includes(s)) {
          fail(`unsupported sharing value "${v}"`, field, `use one of: ${SHARING_MODES.join(", ")}`);
        }
        mount.sharing = s as RunMount["sharing"];
        break;
      }
      case "mode":
        if (!/^[0-7]+$/.test(v) || Number.parseInt(v, 8) > 0xffffffff) {
          fail(`invalid value ${v} for mode`, field, "use an octal mode such as 0644");
        }
        mount.mode = Number.parseInt(v, 8);
        break;
      case "uid":
      case "gid":
        if (!/^[0-9]+$/.test(v) || Number(v) > 0xffffffff) fail(`invalid value ${v} for ${key}`, field);
        mount[key] = Number(v);
        break;
      case "env":
        if (mount.type !== "secret") fail(`unexpected key '${key}' for mount type '${mount.type}'`, field);
        mount.env = v;
        break;
      case "size":
        if (mount.type !== "tmpfs") fail(`unexpected key '${key}' for mount type '${mount.type}'`, field);
        mount.size = v;
        break;
      default: {
        const close = suggest(key, ALL_KEYS, true);
        fail(
          `unexpected key '${key}' in '${field.text}'`,
          field,
          close ? `did you mean ${close}?` : undefined,
        );
      }
    }
  }
  const fileInfoAllowed = mount.type === "secret" || mount.type === "ssh" || mount.type === "cache";
  for (const k of ["mode", "uid", "gid"] as const) {
    if (mount[k] !== undefined && !fileInfoAllowed)
      fail(`${k} not allowed for "${mount.type}" type mounts`, where[k]);
  }
  if (readonlyAuto) mount.readonly = !(mount.type === "cache" || mount.type === "tmpfs");
  if (mount.sharing !== undefined && mount.type !== "cache") {
    fail(`invalid cache sharing set for ${mount.type} mount`, where.sharing ?? typeField);
  }
  if (mount.type === "secret") {
    if (mount.from !== undefined) fail("secret mount should not have a from", where.from);
    if (
      mount.source === undefined &&
      mount.target === undefined &&
      mount.id === undefined &&
      mount.env === undefined
    ) {
      fail(
        "invalid secret mount. one of source, target, or env required",
        undefined,
        "add id=<secret id> or target=<path>",
      );
    }
    if (mount.source !== undefined && mount.id !== undefined) {
      fail("both source and id can't be set", where.source ?? where.src);
    }
  }
  return mount;
}
