// Safe DOM building: every string becomes a text node, never HTML.
// Chunk text and model output are untrusted; nothing here ever sets innerHTML.

export const $ = (id) => document.getElementById(id);

/** el("div", {class: "x", onclick: fn, dataset: {id}}, "text", childNode, [more]) */
export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "value") node.value = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function kbd(...keys) {
  return keys.map((key) => el("kbd", null, key));
}

/** Offsets of every case-insensitive occurrence of each term in text (UTF-16 units). */
export function termRanges(text, terms) {
  const lower = text.toLowerCase();
  if (lower.length !== text.length) return []; // lowercasing moved offsets: skip hits
  const ranges = [];
  for (const term of terms) {
    const needle = term.toLowerCase();
    if (!needle) continue;
    for (let at = lower.indexOf(needle); at >= 0; at = lower.indexOf(needle, at + needle.length)) {
      ranges.push([at, at + needle.length]);
    }
  }
  return ranges;
}

/**
 * Fill `container` with `text`, wrapping marked stretches in <mark class="...">.
 * `layers` is a list of {cls, ranges: [[start, end], ...]}; overlapping layers combine.
 */
export function fillMarked(container, text, layers) {
  container.replaceChildren();
  const cuts = new Set([0, text.length]);
  for (const layer of layers) {
    for (const [start, end] of layer.ranges) {
      cuts.add(Math.max(0, Math.min(text.length, start)));
      cuts.add(Math.max(0, Math.min(text.length, end)));
    }
  }
  const points = [...cuts].sort((a, b) => a - b);
  let first = null;
  for (let i = 0; i + 1 < points.length; i++) {
    const [start, end] = [points[i], points[i + 1]];
    if (start === end) continue;
    const piece = text.slice(start, end);
    const classes = layers
      .filter((layer) => layer.ranges.some(([s, e]) => s <= start && end <= e))
      .map((layer) => layer.cls);
    if (!classes.length) {
      container.append(document.createTextNode(piece));
      continue;
    }
    const mark = el("mark", { class: classes.join(" ") }, piece);
    first = first || mark;
    container.append(mark);
  }
  return first;
}

export function pagesLabel(pages) {
  if (!pages || !pages.length) return "page ?";
  const [first, last] = [pages[0], pages[pages.length - 1]];
  return first === last ? `p. ${first}` : `pp. ${first}–${last}`;
}

let toastTimer = 0;
export function toast(message, kind = "info", ms = 4200) {
  const box = $("toasts");
  const node = el("div", { class: `toast ${kind}`, role: "status" }, message);
  box.append(node);
  while (box.children.length > 4) box.firstChild.remove();
  toastTimer = window.setTimeout(() => node.remove(), kind === "info" ? ms : ms * 2);
  return toastTimer;
}
