/**
 * `?n=&last=` pagination shared by the tag list and the catalog: lexically sorted items after `last`, at
 * most `n` of them, and the `Link: <…?n=N&last=X>; rel="next"` header when more remain.
 */
import { RegistryError } from "./errors.js";

export interface Page {
  items: string[];
  /** The value of the Link header, when the list was truncated. */
  link?: string;
}

export function paginate(all: string[], query: URLSearchParams, basePath: string): Page {
  const sorted = [...all].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const last = query.get("last");
  const nRaw = query.get("n");
  let n: number | undefined;
  if (nRaw !== null && nRaw !== "") {
    if (!/^\d{1,9}$/.test(nRaw)) {
      throw new RegistryError("UNSUPPORTED", `invalid page size n=${JSON.stringify(nRaw)}`, {
        status: 400,
        detail: { n: nRaw },
      });
    }
    n = Number(nRaw);
  }
  const after = last ? sorted.filter((t) => t > last) : sorted;
  if (n === undefined || after.length <= n) return { items: n === 0 ? [] : after };
  const items = after.slice(0, n);
  if (n === 0) return { items };
  const next = new URLSearchParams({ n: String(n), last: items[items.length - 1]! });
  return { items, link: `<${basePath}?${next.toString()}>; rel="next"` };
}
