"""Why a pair (or its rewrite) is not good enough: the flags that send it to correction."""

from __future__ import annotations

from qaforge.refine.pair_record import Grounding, Issue, PairRecord, Verdict, fixes


def describe_verdict(verdict: Verdict) -> str:
    scores = ", ".join(f"{k} {v}" for k, v in verdict.scores.items() if v is not None)
    return f"{verdict.label} ({scores})" if scores else str(verdict.label)


def flags_for(record: PairRecord, verdict: Verdict | None, grounding: Grounding | None,
              issues: list[Issue], min_grounding: float) -> list[str]:
    """Why a pair (or a rewrite) is not good enough; empty when it is."""
    flags = [issue.message for issue in fixes(issues)]  # notes inform the judge only
    if grounding is not None and grounding.score < min_grounding:
        flags.append(f"only {grounding.score:.0%} of the answer is found in the passage "
                     f"(minimum {min_grounding:.0%})")
    if verdict is not None and not verdict.advisory:
        if verdict.error:
            flags.append(verdict.error)
        elif verdict.label != "Clear":
            why = f"judged {describe_verdict(verdict)}: {verdict.reason}"
            if verdict.model_label == "Clear":
                why += " (the model said Clear, but a score is below the threshold)"
            flags.append(why)
    return flags


#: the ``model`` of a verdict the deterministic checks gave, no model asked
CHECKS_ONLY = "qaforge:checks"


def checks_verdict(record: PairRecord, min_grounding: float) -> Verdict | None:
    """The label of a pair the deterministic checks flag, given without a model (None when
    they flag nothing): ``Unclear`` when much of the answer is not in the passage, else
    ``Needs Improvement`` (a defect an editor could fix: docs/labelling-guideline.md).
    Marked ``advisory``: the flags decide, not this verdict."""
    flags = flags_for(record, None, record.grounding, record.issues, min_grounding)
    if not flags:
        return None
    unsupported = record.grounding is not None and record.grounding.score < min_grounding
    return Verdict(label="Unclear" if unsupported else "Needs Improvement",
                   reason="the model judge was not asked: the deterministic checks flag it ("
                          + "; ".join(flags) + ")",
                   model=CHECKS_ONLY, advisory=True)


def model_judged(verdict: Verdict | None) -> bool:
    """A model gave ``verdict`` (not :func:`checks_verdict`)."""
    return verdict is not None and verdict.model != CHECKS_ONLY
