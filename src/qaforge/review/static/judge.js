// What refine found about a pair (from WORKDIR/evaluation.json): the judge's label and reason,
// the deterministic checks and flags, the decision and any rewrite. Strings are untrusted and
// only ever become text nodes (el() never sets HTML).
import { el } from "./dom.js";

const LABEL_CLASS = { Clear: "clear", Unclear: "unclear", "Needs Improvement": "needs" };
const DECISION_TEXT = {
  kept: "kept in the dataset",
  corrected: "rewritten by refine",
  skipped: "left out of the dataset",
  duplicate: "left out: a duplicate",
  rejected: "left out: rejected",
  malformed: "left out: malformed",
};

/** The judge's badge: Clear / Unclear / Needs Improvement, or why there is none. */
function labelBadge(view) {
  const text = view.label || "No verdict";
  return el("span", {
    class: `verdict ${LABEL_CLASS[view.label] || "none"}`,
    title: labelSource(view),
  }, text);
}

/** Who gave the label: the checks without a model, the demo judge, or the judge. */
function labelSource(view) {
  if (view.by_checks) return "the deterministic checks' label: refine asked no model about this pair";
  return view.advisory ? "demo judge: recorded only, it decided nothing" : "the judge's label";
}

/** The checks (code: reason) and then the flags that no check already says. */
function findings(view) {
  const said = new Set(view.checks.map((check) => check.message));
  const items = view.checks.map((check) => el("li", { class: `finding ${check.severity}` },
    el("b", null, check.code || "check"), " ", check.message));
  for (const flag of view.flags) {
    if (!said.has(flag)) items.push(el("li", { class: "finding fix" }, flag));
  }
  return items.length ? el("ul", { class: "findings" }, items) : null;
}

function rewrite(view) {
  if (!view.rewrite) return null;
  const used = view.decision === "corrected";
  return el("details", { class: "rewrite" },
    el("summary", null, used ? "Refine's rewrite (in the dataset)" : "Rewrite refine tried (not used)"),
    el("p", { class: "q" }, view.rewrite.question), el("p", { class: "a" }, view.rewrite.answer));
}

/** The block on a pair card, or null when refine has not seen this pair. */
export function judgeBlock(view) {
  if (!view) return null;
  const top = el("div", { class: "judge-top" }, el("span", { class: "judge-title" }, "Refine"),
    labelBadge(view),
    view.by_checks ? el("span", { class: "judge-tag" }, "labelled by the checks, no model asked")
      : view.advisory ? el("span", { class: "judge-tag" }, "demo judge, not used") : null,
    view.decision ? el("span", { class: `judge-tag decision ${view.decision}` },
      DECISION_TEXT[view.decision] || view.decision) : null,
    view.stale ? el("span", { class: "judge-tag stale", title: "the pair was changed after refine judged it" },
      "stale: pair changed since") : null);
  const reason = view.reason || view.error;
  return el("div", {
    class: `judge${view.flagged ? " flagged" : ""}${view.stale ? " stale" : ""}`,
    dataset: { label: view.label || "", flagged: String(view.flagged) },
  }, top,
  reason ? el("p", { class: "judge-reason" }, reason) : null,
  view.judge_answer ? el("p", { class: "judge-answer" },
    el("span", { class: "judge-title" }, "Judge's own answer from the passage: "),
    view.judge_answer) : null,
  view.judge_cited ? el("p", { class: "judge-answer" },
    el("span", { class: "judge-title" }, "Where the judge says the passage answers it: "),
    view.judge_cited) : null,
  findings(view),
  view.decision_reason && view.decision !== "kept"
    ? el("details", { class: "judge-why" }, el("summary", null, "Why refine decided so"),
      el("p", null, view.decision_reason)) : null,
  rewrite(view));
}

/** The highlight class for a pair's support: the judge's evidence or the grounding match. */
export function supportClass(view) {
  return view && view.evidence_shown ? "support evidence" : "support";
}
