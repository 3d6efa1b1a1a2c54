// The page's state: the files read, the queue of stops and the cursor; reading them from
// the server and showing the stop the cursor is on. Drawing is render.js's, saving writes.js's.
import { api, docPath } from "./api.js";
import { toast } from "./dom.js";

export const state = {
  docs: [], // summaries from /api/docs
  workdir: "",
  cache: new Map(), // doc id -> document view (with chunk_list and revision)
  generation: new Map(), // doc id -> times reloaded from disk; a write from an older one is dropped
  filter: { status: "", doc: "", q: "", flagged: false },
  queue: [], // stops: {doc, chunk, index, pairs, drafts}
  truncated: false,
  pos: 0,
  pairIdx: 0,
  wantPair: null,
  editing: null, // {doc, chunk, pairId (null: new pair), question, answer, node}
  undo: [],
  inFlight: 0,
  writes: Promise.resolve(),
};

export const generationOf = (id) => state.generation.get(id) || 0;

let draw = () => {};

/** How `render` draws the page (app.js hands over render.js's renderAll with the actions). */
export function onRender(drawPage) {
  draw = drawPage;
}

export function render() {
  draw();
}

// ---- reading -------------------------------------------------------------------------

export async function loadDocs() {
  const data = await api("GET", "/api/docs");
  state.docs = data.documents;
  state.workdir = data.workdir;
}

export async function getDoc(id, force = false) {
  if (!force && state.cache.has(id)) return state.cache.get(id);
  const doc = await api("GET", docPath(id));
  state.cache.set(id, doc);
  return doc;
}

export function chunkOf(item) {
  const doc = state.cache.get(item.doc);
  if (!doc) return null;
  const byIndex = doc.chunk_list[item.index];
  return byIndex && byIndex.id === item.chunk ? byIndex : doc.chunk_list.find((c) => c.id === item.chunk) || null;
}

export function navigable(item, chunk) {
  if (!chunk || chunk.kind === "text") return [];
  const all = chunk.pairs.map((_, i) => i);
  if (!state.filter.status && !state.filter.q && !state.filter.flagged) return all;
  const ids = new Set(item.pairs);
  return all.filter((i) => ids.has(chunk.pairs[i].id));
}

export const currentItem = () => state.queue[state.pos] || null;
export function currentChunk() {
  const item = currentItem();
  return item ? chunkOf(item) : null;
}
export function currentPair() {
  const chunk = currentChunk();
  return chunk && chunk.kind !== "text" ? chunk.pairs[state.pairIdx] || null : null;
}

/** Where the cursor is: {doc, chunk, pair} (pair may be undefined). */
export function here() {
  const item = currentItem();
  return item ? { doc: item.doc, chunk: item.chunk, pair: (currentPair() || {}).id } : null;
}

export async function refreshQueue({ keepPlace = false, toDraft = false, place = here() } = {}) {
  const params = new URLSearchParams();
  for (const [key, value] of [["status", state.filter.status], ["doc", state.filter.doc], ["q", state.filter.q]]) {
    if (value) params.set(key, value);
  }
  if (state.filter.flagged) params.set("flagged", "true");
  const data = await api("GET", `/api/queue?${params}`);
  state.queue = data.items;
  state.truncated = data.truncated;
  state.pos = 0;
  state.pairIdx = -1;
  const at = keepPlace && place ? state.queue.findIndex((i) => i.doc === place.doc && i.chunk === place.chunk) : -1;
  if (at >= 0) {
    state.pos = at;
    state.wantPair = place.pair || null;
  } else if (toDraft || keepPlace) {
    state.pos = Math.max(0, state.queue.findIndex((i) => i.drafts > 0));
  }
  await show();
}

export async function show() {
  const item = currentItem();
  if (item && !state.cache.has(item.doc)) {
    try {
      await getDoc(item.doc);
    } catch (error) {
      await failed(error);
      return;
    }
  }
  const chunk = currentChunk();
  const nav = navigable(item, chunk);
  if (state.wantPair && chunk && chunk.kind !== "text") {
    const found = chunk.pairs.findIndex((p) => p.id === state.wantPair);
    if (found >= 0) state.pairIdx = found;
  }
  state.wantPair = null;
  if (state.pairIdx === -1) state.pairIdx = nav.length ? nav[0] : 0;
  if (state.pairIdx === Infinity) state.pairIdx = nav.length ? nav[nav.length - 1] : 0;
  const count = chunk && chunk.kind !== "text" ? chunk.pairs.length : 0;
  state.pairIdx = Math.max(0, Math.min(state.pairIdx, count - 1));
  render();
}

export async function failed(error) {
  toast(error.message, "error");
  if (error.body && (error.body.kind === "malformed" || error.body.kind === "not_found")) {
    await loadDocs().catch(() => {});
  }
  render();
}

/** Forget what we knew of these files (and their undo history) and show them as on disk. */
export async function reloadFromDisk(ids, place = here()) {
  for (const id of ids) {
    state.cache.delete(id);
    state.generation.set(id, generationOf(id) + 1);
    state.undo = state.undo.filter((entry) => entry.doc !== id);
  }
  try {
    await loadDocs();
    await refreshQueue({ keepPlace: true, place });
  } catch (error) {
    await failed(error);
  }
}
