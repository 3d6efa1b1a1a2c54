// qaforge review: state, server calls, actions and keyboard. Rendering is in render.js.
import { api, docPath } from "./api.js";
import { $, toast } from "./dom.js";
import { bindKeys, toggleHelp } from "./keys.js";
import { renderAll, renderCounter, renderSidebar, setSaveState } from "./render.js";

const UNDO_LIMIT = 200;

const state = {
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

const generationOf = (id) => state.generation.get(id) || 0;

// ---- reading -------------------------------------------------------------------------

async function loadDocs() {
  const data = await api("GET", "/api/docs");
  state.docs = data.documents;
  state.workdir = data.workdir;
}

async function getDoc(id, force = false) {
  if (!force && state.cache.has(id)) return state.cache.get(id);
  const doc = await api("GET", docPath(id));
  state.cache.set(id, doc);
  return doc;
}

function chunkOf(item) {
  const doc = state.cache.get(item.doc);
  if (!doc) return null;
  const byIndex = doc.chunk_list[item.index];
  return byIndex && byIndex.id === item.chunk ? byIndex : doc.chunk_list.find((c) => c.id === item.chunk) || null;
}

function navigable(item, chunk) {
  if (!chunk || chunk.kind === "text") return [];
  const all = chunk.pairs.map((_, i) => i);
  if (!state.filter.status && !state.filter.q && !state.filter.flagged) return all;
  const ids = new Set(item.pairs);
  return all.filter((i) => ids.has(chunk.pairs[i].id));
}

const currentItem = () => state.queue[state.pos] || null;
function currentChunk() {
  const item = currentItem();
  return item ? chunkOf(item) : null;
}
function currentPair() {
  const chunk = currentChunk();
  return chunk && chunk.kind !== "text" ? chunk.pairs[state.pairIdx] || null : null;
}

/** Where the cursor is: {doc, chunk, pair} (pair may be undefined). */
function here() {
  const item = currentItem();
  return item ? { doc: item.doc, chunk: item.chunk, pair: (currentPair() || {}).id } : null;
}

async function refreshQueue({ keepPlace = false, toDraft = false, place = here() } = {}) {
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

async function show() {
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

function render() {
  renderAll(state, actions);
}

// ---- writing -------------------------------------------------------------------------

function snapshot(chunk) {
  if (chunk.kind === "text") return chunk.suggestions_text;
  return chunk.pairs.map(({ support, ...pair }) => pair);
}

/**
 * Queue one change. Writes go one at a time, each on the revision the previous one left,
 * and are dropped if the file was reloaded from disk after the key was pressed.
 */
function write(docId, chunkId, makeOp, { label = "change", undoable = true, onDone, onStale } = {}) {
  const generation = generationOf(docId);
  const entry = undoable ? { doc: docId, chunk: chunkId, label, before: null, pair: (currentPair() || {}).id } : null;
  if (entry) {
    state.undo.push(entry);
    if (state.undo.length > UNDO_LIMIT) state.undo.shift();
  }
  const run = async () => {
    const doc = state.cache.get(docId);
    const op = typeof makeOp === "function" ? makeOp() : makeOp;
    if (!doc || !op || generationOf(docId) !== generation) {
      if (entry) dropEntry(entry);
      return;
    }
    const chunk = doc.chunk_list.find((c) => c.id === chunkId);
    if (entry && chunk) entry.before = snapshot(chunk);
    setSaveState("saving", "Saving…");
    try {
      const result = await api("POST", `${docPath(docId)}/ops`, { revision: doc.revision, op: { ...op, chunk: chunkId } });
      applyResult(docId, result);
      setSaveState("saved", "All changes saved");
      if (onDone) onDone(result);
    } catch (error) {
      if (entry) dropEntry(entry);
      await writeFailed(error, { doc: docId, chunk: chunkId, pair: op.pair }, onStale);
    }
  };
  state.inFlight += 1;
  document.body.dataset.busy = "1";
  const done = state.writes.then(run).finally(() => {
    state.inFlight -= 1;
    if (!state.inFlight) document.body.dataset.busy = "0";
  });
  state.writes = done.catch(() => {});
  return done;
}

function dropEntry(entry) {
  entry.dead = true;
  const at = state.undo.indexOf(entry);
  if (at >= 0) state.undo.splice(at, 1);
}

function applyResult(docId, result) {
  const doc = state.cache.get(docId);
  if (!doc) return; // dropped by a reload meanwhile: the next read shows the file as it is
  doc.revision = result.revision;
  doc.chunk_list[result.chunk.index] = result.chunk;
  Object.assign(doc, result.summary);
  const at = state.docs.findIndex((d) => d.id === docId);
  if (at >= 0) state.docs[at] = result.summary;
  for (const item of state.queue) {
    if (item.doc === docId && item.chunk === result.chunk.id) {
      item.drafts = result.chunk.pairs.filter((p) => p.status === "draft").length;
    }
  }
  const pairs = result.chunk.pairs;
  const chunk = currentChunk();
  if (chunk && chunk.id === result.chunk.id) state.pairIdx = Math.min(state.pairIdx, Math.max(pairs.length - 1, 0));
  render();
}

async function writeFailed(error, target, onStale) {
  const docId = target.doc;
  if (error.status === 409 && error.body.kind === "stale") {
    setSaveState("error", "Changed on disk: reloaded");
    toast(error.message, "warn");
    await reloadFromDisk([docId], target); // back to the pair whose change was refused
    if (onStale) onStale();
    return;
  }
  setSaveState("error", "Not saved");
  toast(error.message, "error");
  // a file that broke or became read-only since it was read: show it as it is now, and why
  if ((error.status === 422 && error.body.kind === "malformed")
    || (error.status === 409 && error.body.kind === "read_only")) await reloadFromDisk([docId]);
}

async function failed(error) {
  toast(error.message, "error");
  if (error.body && (error.body.kind === "malformed" || error.body.kind === "not_found")) {
    await loadDocs().catch(() => {});
  }
  render();
}

/** Forget what we knew of these files (and their undo history) and show them as on disk. */
async function reloadFromDisk(ids, place = here()) {
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

// ---- actions -------------------------------------------------------------------------

function select(index) {
  if (state.editing) return;
  state.pairIdx = index;
  render();
}

async function goStop(pos, where) {
  if (pos < 0 || pos >= state.queue.length) {
    toast(pos < 0 ? "This is the first chunk." : "This is the last chunk. Press g for the next draft.");
    return;
  }
  state.pos = pos;
  state.pairIdx = where === "last" ? Infinity : -1;
  await show();
}

function nextPair() {
  const item = currentItem();
  if (!item) return;
  const after = navigable(item, chunkOf(item)).find((i) => i > state.pairIdx);
  if (after !== undefined) {
    state.pairIdx = after;
    render();
  } else {
    goStop(state.pos + 1, "first");
  }
}

function prevPair() {
  const item = currentItem();
  if (!item) return;
  const before = navigable(item, chunkOf(item)).filter((i) => i < state.pairIdx).pop();
  if (before !== undefined) {
    state.pairIdx = before;
    render();
  } else {
    goStop(state.pos - 1, "last");
  }
}

async function nextDraft() {
  const count = state.queue.length;
  for (let step = 0; step <= count; step++) {
    const pos = (state.pos + step) % count;
    const item = state.queue[pos];
    if (!state.cache.has(item.doc)) {
      if (!(item.drafts > 0)) continue;
      await getDoc(item.doc).catch(() => null);
    }
    const chunk = chunkOf(item);
    const drafts = navigable(item, chunk)
      .filter((i) => chunk.pairs[i].status === "draft" && (step > 0 || i > state.pairIdx));
    if (drafts.length) {
      state.pos = pos;
      state.pairIdx = drafts[0];
      await show();
      return;
    }
  }
  toast("No drafts left in this view.");
}

function setStatus(status, advance) {
  const item = currentItem();
  const pair = currentPair();
  if (!item || !pair) return;
  write(item.doc, item.chunk, { op: "update", pair: pair.id, status }, { label: `${status} pair` });
  if (advance) nextPair();
}

function startEdit() {
  const item = currentItem();
  const pair = currentPair();
  if (!item || !pair) return;
  state.editing = { doc: item.doc, chunk: item.chunk, pairId: pair.id, question: pair.question, answer: pair.answer };
  render();
  focusEditor();
}

function startAdd() {
  const item = currentItem();
  const chunk = currentChunk();
  if (!item || !chunk || chunk.kind === "text" || state.editing) return;
  state.editing = { doc: item.doc, chunk: item.chunk, pairId: null, question: "", answer: "" };
  render();
  focusEditor();
}

function focusEditor() {
  const box = $("edit-question");
  box.focus();
  box.setSelectionRange(box.value.length, box.value.length);
}

function cancelEdit() {
  state.editing = null;
  render();
}

function saveEdit() {
  const editing = state.editing;
  if (!editing) return;
  const question = editing.question.trim();
  const answer = editing.answer.trim();
  if (!question || !answer) {
    toast("A pair needs both a question and an answer.", "warn");
    return;
  }
  const reopen = () => {
    const chunk = currentChunk();
    const stillThere = !editing.pairId || (chunk && chunk.kind !== "text" && chunk.pairs.some((p) => p.id === editing.pairId));
    if (!stillThere) return;
    state.editing = { ...editing, node: null };
    render();
    focusEditor();
    toast("Your text is still in the editor: check the current version, then save again.", "warn");
  };
  const item = currentItem();
  const op = editing.pairId ? { op: "update", pair: editing.pairId, question, answer }
    : { op: "add", question, answer };
  write(editing.doc, editing.chunk, op, {
    label: editing.pairId ? "edit" : "new pair",
    onStale: reopen,
    onDone: (result) => {
      if (editing.pairId || !item || item.chunk !== result.chunk.id) return;
      const added = result.chunk.pairs[result.chunk.pairs.length - 1];
      item.pairs.push(added.id);
      if (currentItem() === item) state.pairIdx = result.chunk.pairs.length - 1;
      render();
    },
  });
  state.editing = null;
  render();
}

function deletePair() {
  const item = currentItem();
  const pair = currentPair();
  if (!item || !pair) return;
  write(item.doc, item.chunk, { op: "delete", pair: pair.id }, { label: "delete" });
  toast("Pair deleted. Press z to undo.");
}

function convertText() {
  const item = currentItem();
  const chunk = currentChunk();
  if (!item || !chunk || chunk.kind !== "text") return;
  write(item.doc, item.chunk, { op: "convert" }, { label: "convert" });
}

function undo() {
  const entry = state.undo.pop();
  if (!entry) {
    toast("Nothing to undo.");
    return;
  }
  write(entry.doc, entry.chunk, () => (entry.dead || entry.before === null ? null : { op: "restore", suggestions: entry.before }), {
    undoable: false,
    onDone: () => {
      const at = state.queue.findIndex((i) => i.doc === entry.doc && i.chunk === entry.chunk);
      if (at >= 0) {
        state.pos = at;
        state.wantPair = entry.pair || null;
        show();
      }
      toast(`Undone: ${entry.label}.`);
    },
  });
}

function setStatusFilter(status) {
  state.filter.status = status;
  refreshQueue({ keepPlace: true }).catch(failed);
}

function toggleFlagged() {
  state.filter.flagged = !state.filter.flagged;
  const place = here();
  const chunk = currentChunk();
  const view = chunk && chunk.judge && place ? chunk.judge[place.pair] : null;
  // turning it on: stay on this pair only if refine flagged it, else its chunk's first flagged
  if (place && state.filter.flagged && !(view && view.flagged)) place.pair = null;
  refreshQueue({ keepPlace: true, place }).catch(failed);
}

function setDocFilter(doc) {
  state.filter.doc = doc;
  refreshQueue({ toDraft: true }).catch(failed);
}

function stepDoc(delta) {
  const ids = ["", ...state.docs.map((d) => d.id)];
  const at = ids.indexOf(state.filter.doc);
  setDocFilter(ids[(at + delta + ids.length) % ids.length]);
}

async function reloadAll() {
  await reloadFromDisk([...state.cache.keys()]);
  toast("Reloaded from disk.");
}

/** Coming back to the tab: pick up files changed elsewhere (an editor, a generate run). */
async function checkDisk() {
  if (state.inFlight || state.editing || state.checking) return;
  state.checking = true;
  try {
    const known = state.docs.map((d) => `${d.id}:${d.revision}`).join("|");
    await loadDocs();
    const changed = [...state.cache.keys()].filter((id) => {
      const doc = state.docs.find((d) => d.id === id);
      return !doc || doc.revision !== state.cache.get(id).revision;
    });
    if (changed.length) {
      toast(`${changed.join(", ")} changed on disk; showing the current version.`, "warn");
      await reloadFromDisk(changed);
    } else if (known !== state.docs.map((d) => `${d.id}:${d.revision}`).join("|")) {
      await refreshQueue({ keepPlace: true });
    } else {
      renderSidebar(state, actions);
      renderCounter(state);
    }
  } catch (error) {
    await failed(error);
  } finally {
    state.checking = false;
  }
}

const actions = {
  chunkOf, navigable, select, accept: () => setStatus("accepted", true), reject: () => setStatus("rejected", true),
  startEdit, saveEdit, cancelEdit, deletePair, convertText, setDocFilter, reloadAll,
};

// ---- keyboard ------------------------------------------------------------------------

const KEYS = {
  j: nextPair, ArrowDown: nextPair, k: prevPair, ArrowUp: prevPair,
  n: () => goStop(state.pos + 1, "first"), ArrowRight: () => goStop(state.pos + 1, "first"),
  p: () => goStop(state.pos - 1, "first"), ArrowLeft: () => goStop(state.pos - 1, "first"),
  g: nextDraft, a: actions.accept, r: actions.reject, d: () => setStatus("draft", false),
  e: startEdit, Enter: startEdit, x: deletePair, Delete: deletePair, c: startAdd,
  z: undo, u: undo, C: convertText, R: reloadAll, "[": () => stepDoc(-1), "]": () => stepDoc(1),
  "/": () => { $("search").focus(); $("search").select(); },
  "?": () => toggleHelp(true),
  1: () => setStatusFilter(""), 2: () => setStatusFilter("draft"), 3: () => setStatusFilter("accepted"),
  4: () => setStatusFilter("edited"), 5: () => setStatusFilter("rejected"), 0: () => setDocFilter(""),
  f: toggleFlagged,
};

let searchTimer = 0;
function applySearch() {
  window.clearTimeout(searchTimer);
  const q = $("search").value.trim();
  if (q === state.filter.q) return Promise.resolve();
  state.filter.q = q;
  return refreshQueue({ keepPlace: true }).catch(failed);
}

async function start() {
  document.body.dataset.busy = "0";
  bindKeys({
    bindings: KEYS, isEditing: () => Boolean(state.editing), save: saveEdit, cancel: cancelEdit,
    search: applySearch, undo,
    clearSearch: () => { $("search").value = ""; applySearch(); },
  });
  $("search").addEventListener("input", () => {
    window.clearTimeout(searchTimer);
    searchTimer = window.setTimeout(applySearch, 250);
  });
  for (const button of $("filters").querySelectorAll("button")) {
    button.addEventListener("click", () => setStatusFilter(button.dataset.status));
  }
  $("flagged-filter").addEventListener("click", toggleFlagged);
  $("add-pair").addEventListener("click", startAdd);
  window.addEventListener("focus", checkDisk);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) checkDisk(); });
  window.addEventListener("beforeunload", (event) => {
    if (state.inFlight || state.editing) event.preventDefault();
  });
  try {
    await loadDocs();
    await refreshQueue({ toDraft: true });
    setSaveState("saved", "All changes saved");
    document.body.dataset.ready = "1";
  } catch (error) {
    await failed(error);
  }
}

start();
