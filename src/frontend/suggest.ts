/**
 * "Did you mean …?" suggestions: the closest candidate to a misspelt word by edit distance (optimal string
 * alignment, so a swap of two neighbours costs 1). Used for instructions, flags, stage names, mount keys and
 * variable names.
 */

/** Edit distance with insertions, deletions, substitutions and adjacent transpositions, each costing 1. */
export function editDistance(a: string, b: string): number {
  const s = Array.from(a);
  const t = Array.from(b);
  const rows = s.length + 1;
  const cols = t.length + 1;
  const d: number[][] = Array.from({ length: rows }, () => new Array<number>(cols).fill(0));
  for (let i = 0; i < rows; i++) d[i]![0] = i;
  for (let j = 0; j < cols; j++) d[0]![j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) {
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = best;
    }
  }
  return d[rows - 1]![cols - 1]!;
}

/** How far a word may be from a candidate and still be called a misspelling of it. */
function allowedDistance(word: string): number {
  const n = Array.from(word).length;
  if (n <= 3) return 1;
  if (n <= 8) return 2;
  return 3;
}

/**
 * The candidate closest to `word`, or undefined when none is close enough or `word` itself is a candidate.
 * Case-insensitively, a candidate differing from `word` only in case is returned first.
 * Ties go to the earlier candidate, so callers list the likelier ones first.
 */
export function suggest(
  word: string,
  candidates: Iterable<string>,
  caseSensitive = false,
): string | undefined {
  const norm = (s: string) => (caseSensitive ? s : s.toLowerCase());
  const w = norm(word);
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const c = norm(candidate);
    if (c === w) return candidate === word ? undefined : candidate;
    const dist = editDistance(w, c);
    if (dist < bestDistance) {
      bestDistance = dist;
      best = candidate;
    }
  }
  if (best === undefined || bestDistance > allowedDistance(word)) return undefined;
  return best;
}
