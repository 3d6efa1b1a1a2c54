// qaforge review: actions, keyboard and start-up. State is in state.js, saving in writes.js,
// rendering in render.js.
import { $, toast } from "./dom.js";
import { bindKeys, toggleHelp } from "./keys.js";
import { renderAll, renderCounter, renderSidebar, setSaveState } from "./render.js";
import {
  chunkOf, currentChunk, currentItem, currentPair, failed, getDoc, here, loadDocs, navigable, onRender,
  refreshQueue, reloadFromDisk, render, show, state,
} from "./state.js";
import { undo, write } from "./writes.js";

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

onRender(() => renderAll(state, actions));

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
