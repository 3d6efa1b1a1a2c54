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
