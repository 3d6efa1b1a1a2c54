// Saving: changes go to the server one at a time, each on the revision the previous one
// left; undo puts a chunk back as it was before a change.
import { api, docPath } from "./api.js";
import { toast } from "./dom.js";
import { setSaveState } from "./render.js";
import { currentChunk, currentPair, generationOf, reloadFromDisk, render, show, state } from "./state.js";

const UNDO_LIMIT = 200;

function snapshot(chunk) {
  if (chunk.kind === "text") return chunk.suggestions_text;
  return chunk.pairs.map(({ support, ...pair }) => pair);
}

/**
 * Queue one change. Writes go one at a time, each on the revision the previous one left,
 * and are dropped if the file was reloaded from disk after the key was pressed.
 */
export function write(docId, chunkId, makeOp, { label = "change", undoable = true, onDone, onStale } = {}) {
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

export function undo() {
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
