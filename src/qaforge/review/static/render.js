// Rendering of the review screen from the app state. Strings only ever become text nodes.
import { $, el, fillMarked, kbd, pagesLabel, termRanges } from "./dom.js";
import { judgeBlock, supportClass } from "./judge.js";

const STATUS_LABEL = { draft: "Draft", accepted: "Accepted", edited: "Edited", rejected: "Rejected" };
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

export function renderAll(state, actions) {
  renderFilters(state);
  renderSidebar(state, actions);
  renderCounter(state);
  renderChunk(state, actions);
  renderPairs(state, actions);
}

export function renderFilters(state) {
  for (const button of $("filters").querySelectorAll("button")) {
    button.classList.toggle("active", button.dataset.status === state.filter.status);
  }
  $("flagged-filter").classList.toggle("active", state.filter.flagged);
  $("flagged-filter").setAttribute("aria-pressed", String(state.filter.flagged));
}

function progressBar(doc) {
  const counts = doc.status_counts;
  const total = Math.max(doc.pairs, 1);
  const part = (status) => el("i", {
    class: `p-${status}`, style: null, dataset: { width: String(counts[status] / total) },
  });
  const bar = el("div", { class: "progress", title: `${doc.reviewed} of ${doc.pairs} reviewed` },
    part("accepted"), part("edited"), part("rejected"));
  // widths through CSSOM: the CSP forbids inline style attributes
  for (const piece of bar.children) piece.style.width = `${Number(piece.dataset.width) * 100}%`;
  return bar;
}

export function renderSidebar(state, actions) {
  const list = $("doc-list");
  const currentDoc = state.filter.doc || (state.queue[state.pos] || {}).doc;
  const totals = state.docs.reduce((acc, d) => ({ pairs: acc.pairs + d.pairs, reviewed: acc.reviewed + d.reviewed }),
    { pairs: 0, reviewed: 0 });
  const entries = [el("li", null, el("button", {
    type: "button", class: `doc${state.filter.doc ? "" : " active"}`, onclick: () => actions.setDocFilter(""),
  }, el("span", { class: "name" }, "All documents"),
  el("span", { class: "meta" }, el("span", null, plural(state.docs.length, "file")),
    el("span", null, `${totals.reviewed} / ${totals.pairs}`))))];
  for (const doc of state.docs) {
    const flags = [];
    if (doc.error) flags.push(el("span", { class: "flag error" }, doc.error.line
      ? `line ${doc.error.line}, column ${doc.error.column}: ${doc.error.message}` : doc.error.message));
    else if (doc.read_only) flags.push(el("span", { class: "flag warn", title: doc.read_only_reason || "" }, "read-only: has entries the page cannot keep"));
    if (doc.flagged) flags.push(el("span", { class: "flag warn" }, `${doc.flagged} flagged by refine`));
    if (doc.pending_chunks) flags.push(el("span", { class: "flag info" }, `${plural(doc.pending_chunks, "chunk")} not generated yet`));
    if (doc.skipped_chunks) flags.push(el("span", { class: "flag info" }, `${plural(doc.skipped_chunks, "chunk")} skipped (nothing to learn)`));
    const active = state.filter.doc === doc.id;
    entries.push(el("li", null, el("button", {
      type: "button", class: `doc${active ? " active" : ""}`, title: doc.id,
      dataset: { doc: doc.id, current: String(doc.id === currentDoc) },
      onclick: () => actions.setDocFilter(active ? "" : doc.id),
    }, el("span", { class: "name" }, doc.source),
    doc.error ? null : el("span", { class: "meta" }, el("span", null, plural(doc.chunks, "chunk")),
      el("span", { class: "done" }, `${doc.reviewed} / ${doc.pairs}`)),
    doc.error ? null : progressBar(doc), flags)));
  }
  list.replaceChildren(...entries);
  $("workdir").textContent = state.workdir ? `${state.workdir}/output_json` : "";
}

export function renderCounter(state) {
  const drafts = state.docs.reduce((n, d) => n + d.status_counts.draft, 0);
  const pairs = state.docs.reduce((n, d) => n + d.pairs, 0);
  const reviewed = state.docs.reduce((n, d) => n + d.reviewed, 0);
  $("counter").replaceChildren(el("b", { id: "left-count" }, String(drafts)), " left · ",
    `${reviewed} / ${pairs} reviewed`);
}

export function setSaveState(kind, text) {
  const box = $("save-state");
  box.className = `save-state ${kind}`;
  box.textContent = text;
}

function emptyState(state, actions) {
  const doc = state.docs.find((d) => d.id === state.filter.doc);
  if (doc && doc.error) {
    return el("div", { class: "note error", id: "file-error" },
      el("strong", null, `${doc.id} cannot be read`),
      el("pre", null, doc.error.line ? `line ${doc.error.line}, column ${doc.error.column}: ${doc.error.message}`
        : doc.error.message),
      el("p", null, "Fix it in your editor; the other files are not affected. ",
        "Come back to this tab (or press ", kbd("Shift", "R"), ") to load it again."),
      el("button", { type: "button", onclick: actions.reloadAll }, "Reload now"));
  }
  if (!state.docs.length) {
    return el("div", { class: "empty" }, el("h3", null, "No suggestions files yet"),
      el("p", null, "Run ", el("code", null, "qaforge generate docs/ -o WORKDIR"), " first; files appear in ",
        el("code", null, "WORKDIR/output_json"), "."));
  }
  return el("div", { class: "empty" }, el("h3", null, "Nothing matches"),
    el("p", null, "No chunk matches this filter or search. Press ", kbd("1"), " for all pairs, ",
      kbd("0"), " for all documents, or ", kbd("/"), " then ", kbd("Esc"), " to clear the search."));
}

export function renderChunk(state, actions) {
  const item = state.queue[state.pos];
  const chunk = item ? actions.chunkOf(item) : null;
  const head = $("chunk-head");
  const notes = $("chunk-notes");
  const body = $("chunk-text");
  if (!item || !chunk) {
    head.replaceChildren();
    notes.replaceChildren(item ? el("div", { class: "empty" }, "Loading…") : emptyState(state, actions));
    body.replaceChildren();
    return;
  }
  const doc = state.cache.get(item.doc);
  const crumbs = chunk.headings.length ? chunk.headings.flatMap((h, i) => (i
    ? [el("span", { class: "sep" }, " › "), h] : [h])) : ["(no heading)"];
  const tags = [el("span", { class: "tag pages" }, pagesLabel(chunk.pages))];
  if (chunk.kind === "pending") tags.push(chunk.skipped ? el("span", { class: "tag" }, `skipped: ${chunk.skipped}`)
    : el("span", { class: "tag pending" }, "not generated yet"));
  if (chunk.state === "failed") tags.push(el("span", { class: "tag failed" }, "generation failed"));
  if (chunk.kind === "text") tags.push(el("span", { class: "tag" }, "hand-written pairs"));
  head.replaceChildren(
    el("div", { class: "doc-name" }, el("span", null, doc.source),
      el("span", null, `chunk ${chunk.index + 1} of ${doc.chunk_list.length}`),
      el("span", { id: "queue-pos" }, `${state.pos + 1} / ${state.queue.length}${state.truncated ? "+" : ""} in view`)),
    el("div", { class: "crumbs", id: "crumbs" }, crumbs),
    el("div", { class: "tags" }, tags));

  const noteNodes = [];
  if (doc.read_only) {
    noteNodes.push(el("div", { class: "note", id: "read-only-note" }, el("strong", null, "Read-only: "),
      "this file has entries the page cannot keep exactly, so it will not rewrite it. Fix them in an editor:",
      el("p", { class: "reason" }, doc.read_only_reason || ""),
      el("ul", null, doc.problems.slice(0, 6).map((p) => el("li", null, p)))));
  }
  if (chunk.error) {
    noteNodes.push(el("div", { class: "note error" }, el("strong", null, "Generation error: "), chunk.error,
      chunk.raw ? el("details", null, el("summary", null, "Model output kept verbatim"),
        el("pre", { class: "raw" }, chunk.raw)) : null));
  }
  notes.replaceChildren(...noteNodes);

  const pair = chunk.kind === "pairs" ? chunk.pairs[state.pairIdx] : null;
  const terms = state.filter.q ? state.filter.q.split(/\s+/) : [];
  const first = fillMarked(body, chunk.text, [
    { cls: supportClass(pair && chunk.judge ? chunk.judge[pair.id] : null), ranges: pair ? pair.support : [] },
    { cls: "hit", ranges: termRanges(chunk.text, terms) },
  ]);
  // bring the support into view when the pair changes, not on every save
  const shown = pair ? `${chunk.id}/${pair.id}` : chunk.id;
  if (shown !== state.lastShown) {
    state.lastShown = shown;
    if (first) first.scrollIntoView({ block: "nearest" });
    else body.parentElement.scrollTop = 0;
  }
}

function statusBadge(status) {
  return el("span", { class: `badge ${status}` }, STATUS_LABEL[status] || status);
}

// question forms (qaforge/forms.py): plain Q&A pairs carry no form and get no badge
function formBadge(form) {
  return form && form !== "qa" ? el("span", { class: "badge form" }, form.replace("_", " ")) : null;
}

// a conversation's turns after its first exchange (the question and answer above), read-only
function laterTurns(turns) {
  if (!Array.isArray(turns) || turns.length <= 2) return null;
  return el("div", { class: "turns" }, ...turns.slice(2).map((turn) =>
    el("p", { class: `turn ${turn.role === "user" ? "q" : "a"}` },
      el("span", { class: "role" }, turn.role === "user" ? "User: " : "Assistant: "), String(turn.content || ""))));
}

// the model's reasoning kept with the pair (--reasoning keep): read-only, never the answer
function reasoningBlock(reasoning) {
  if (typeof reasoning !== "string" || !reasoning) return null;
  // a click on the card selects (and re-renders) it, which would close this again
  return el("details", { class: "reasoning", onclick: (event) => event.stopPropagation() },
    el("summary", null, "Model reasoning (not part of the answer)"),
    el("pre", { class: "raw" }, reasoning));
}

function editorCard(state, actions, number) {
  const editing = state.editing;
  const question = el("textarea", { class: "q-edit", id: "edit-question", rows: 2, "aria-label": "Question",
    oninput: (e) => { editing.question = e.target.value; } });
  question.value = editing.question;
  const answer = el("textarea", { class: "a-edit", id: "edit-answer", rows: 5, "aria-label": "Answer",
    oninput: (e) => { editing.answer = e.target.value; } });
  answer.value = editing.answer;
  const card = el("div", { class: "card editor current", dataset: { status: editing.pairId ? "edited" : "draft" } },
    el("div", { class: "top" }, el("span", { class: "num" },
      editing.pairId ? `Editing pair ${number}` : "New pair"), null),
    el("div", { class: "label" }, "Question"), question,
    el("div", { class: "label" }, "Answer"), answer,
    el("div", { class: "actions" },
      el("button", { type: "button", class: "save", onclick: actions.saveEdit }, "Save ", kbd("Ctrl", "Enter")),
      el("button", { type: "button", onclick: actions.cancelEdit }, "Cancel ", kbd("Esc")),
      el("span", { class: "hint" }, "Tab switches between question and answer")));
  editing.node = card;
  return card;
}

function pairCard(state, actions, chunk, pair, index, navigable) {
  const current = index === state.pairIdx;
  const terms = state.filter.q ? state.filter.q.split(/\s+/) : [];
  const question = el("p", { class: "q" });
  fillMarked(question, pair.question, [{ cls: "hit", ranges: termRanges(pair.question, terms) }]);
  const answer = el("p", { class: "a" });
  fillMarked(answer, pair.answer, [{ cls: "hit", ranges: termRanges(pair.answer, terms) }]);
  const act = (fn) => (event) => { event.stopPropagation(); actions.select(index); fn(); };
  return el("article", {
    class: `card${current ? " current" : ""}${navigable ? "" : " dim"}`,
    dataset: { pairId: pair.id, status: pair.status },
    onclick: () => actions.select(index),
  },
  el("div", { class: "top" }, el("span", { class: "num" }, `Pair ${index + 1} of ${chunk.pairs.length}`),
    formBadge(pair.form), statusBadge(pair.status)),
  question, answer, laterTurns(pair.turns), reasoningBlock(pair.reasoning),
  judgeBlock(chunk.judge ? chunk.judge[pair.id] : null),
  pair.support.length ? null : el("div", { class: "no-support" }, "Answer not found in the chunk text: check it is grounded."),
  current ? el("div", { class: "actions" },
    el("button", { type: "button", class: "accept", onclick: act(actions.accept) }, "Accept ", kbd("a")),
    el("button", { type: "button", class: "reject", onclick: act(actions.reject) }, "Reject ", kbd("r")),
    el("button", { type: "button", onclick: act(actions.startEdit) }, "Edit ", kbd("e")),
    el("button", { type: "button", onclick: act(actions.deletePair) }, "Delete ", kbd("x"))) : null);
}

export function renderPairs(state, actions) {
  const box = $("pairs");
  // never rebuild an open editor: it would drop the caret (the text itself lives in state)
  if (state.editing && state.editing.node && box.contains(state.editing.node)) return;
  const item = state.queue[state.pos];
  const chunk = item ? actions.chunkOf(item) : null;
  $("add-pair").hidden = !chunk || chunk.kind === "text";
  if (!chunk) {
    $("pairs-head").replaceChildren();
    box.replaceChildren();
    return;
  }
  const pairs = chunk.kind === "text" ? [] : chunk.pairs;
  const reviewed = pairs.filter((p) => p.status !== "draft").length;
  $("pairs-head").replaceChildren(el("span", null, el("b", null, chunk.kind === "text"
    ? "Hand-written pairs" : plural(pairs.length, "pair"))),
  chunk.kind === "text" ? null : el("span", null, `${reviewed} reviewed`));
  const cards = [];
  if (chunk.kind === "text") {
    cards.push(el("div", { class: "note info" }, el("strong", null, "Written by hand as text. "),
      "Stage 3 reads this as it is. To review the pairs one by one here, convert them (",
      kbd("Shift", "C"), ").", el("pre", { id: "suggestions-text" }, chunk.suggestions_text),
      el("button", { type: "button", onclick: actions.convertText }, "Convert to pairs")));
  } else if (chunk.kind === "pending" && chunk.skipped) {
    cards.push(el("div", { class: "note info", id: "skipped-note" }, el("strong", null, `Skipped: ${chunk.skipped}. `),
      "Nothing to learn here, so it was not sent to the model. To draft pairs anyway, set its ",
      el("code", null, '"skipped"'), " to false in the file and run ", el("code", null, "qaforge generate"),
      " again (or run it with ", el("code", null, "--no-skip-boilerplate"), "), or add your own (", kbd("c"), ")."));
  } else if (chunk.kind === "pending") {
    cards.push(el("div", { class: "note info" }, "No pairs yet: this chunk has not been generated. ",
      "Run ", el("code", null, "qaforge generate"), " again to draft them, or add your own (", kbd("c"), ")."));
  }
  const navigable = new Set(actions.navigable(item, chunk));
  pairs.forEach((pair, index) => {
    const editingThis = state.editing && state.editing.pairId === pair.id;
    cards.push(editingThis ? editorCard(state, actions, index + 1)
      : pairCard(state, actions, chunk, pair, index, navigable.has(index)));
  });
  if (state.editing && !state.editing.pairId && state.editing.chunk === chunk.id) {
    cards.push(editorCard(state, actions, pairs.length + 1));
  }
  box.replaceChildren(...cards);
  const focus = state.editing ? state.editing.node : box.querySelector(".card.current");
  if (focus) focus.scrollIntoView({ block: "nearest" });
}
