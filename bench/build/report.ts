/**
 * The build benchmark's result table: one row per case and phase, each builder's wall seconds, Gantry's own
 * reported solve time (the rest is process start-up, graph compile and export), the ratios peer/gantry
 * (> 1 means Gantry is faster) and whether the target for that row is met.
 */

export type BuilderName = "gantry" | "buildkit" | "buildah";

/** cold: gantry ≤ buildkit; rebuild: gantry ≤ 1.5 × buildkit; push: gantry ≤ buildah. */
export type Target = "cold" | "rebuild" | "push" | "none";

export interface Row {
  label: string;
  target: Target;
  seconds: Partial<Record<BuilderName, number>>;
  failed?: Partial<Record<BuilderName, boolean>>;
  gantrySolve?: number;
}

const TARGET_TEXT: Record<Target, string> = {
  cold: "<= buildkit",
  rebuild: "<= 1.5x buildkit",
  push: "<= buildah",
  none: "",
};

function targetMet(row: Row): string {
  const g = row.seconds.gantry;
  const bk = row.seconds.buildkit;
  const ba = row.seconds.buildah;
  if (row.target === "none" || g === undefined) return "";
  const ok = (peer: number | undefined, factor: number) =>
    peer === undefined ? "n/a" : g <= peer * factor ? "met" : "MISSED";
  if (row.target === "cold") return ok(bk, 1);
  if (row.target === "rebuild") return ok(bk, 1.5);
  return ok(ba, 1);
}

function cell(row: Row, name: BuilderName): string {
  const s = row.seconds[name];
  if (s !== undefined) return s.toFixed(2);
  return row.failed?.[name] ? "failed" : "-";
}

function ratio(row: Row, peer: BuilderName): string {
  const g = row.seconds.gantry;
  const p = row.seconds[peer];
  return g === undefined || p === undefined ? "-" : `${(p / g).toFixed(2)}x`;
}

export function printTable(rows: Row[], present: BuilderName[]): void {
  const header = [
    "case",
    "gantry s",
    "(solve s)",
    "buildkit s",
    "buildah s",
    "bk/gantry",
    "buildah/gantry",
    "target",
    "",
  ];
  const cells = rows.map((r) => [
    r.label,
    cell(r, "gantry"),
    r.gantrySolve === undefined ? "" : `(${r.gantrySolve.toFixed(2)})`,
    present.includes("buildkit") ? cell(r, "buildkit") : "n/a",
    present.includes("buildah") ? cell(r, "buildah") : "n/a",
    ratio(r, "buildkit"),
    ratio(r, "buildah"),
    TARGET_TEXT[r.target],
    targetMet(r),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join("  ");
  console.log(`\n${line(header)}\n${widths.map((w) => "-".repeat(w)).join("  ")}`);
  for (const c of cells) console.log(line(c));
  console.log(
    "\nseconds = wall time of the CLI command, best of the runs; (solve s) = the build time Gantry reports itself" +
      "\n(the rest of its wall time is process start-up, graph compile, base resolution, export and tagging)." +
      "\nratios = peer / gantry: > 1 means Gantry is faster. Gantry compresses layers while building; dockerd and" +
      "\nbuildah keep them uncompressed and compress when pushing.",
  );
}

export function printParallel(par: Row, ser: Row, present: BuilderName[]): void {
  const parts = present.map((name) => {
    const p = par.seconds[name];
    const s = ser.seconds[name];
    return `${name} ${p !== undefined && s !== undefined ? (p / s).toFixed(2) : "-"}`;
  });
  const g =
    par.seconds.gantry !== undefined && ser.seconds.gantry !== undefined
      ? par.seconds.gantry / ser.seconds.gantry
      : undefined;
  const verdict = g === undefined ? "n/a" : g <= 0.6 ? "met" : "MISSED";
  console.log(
    `\nparallel / serial time: ${parts.join(", ")}  (target for gantry ≈ 0.5, met when ≤ 0.60: ${verdict})`,
  );
}
