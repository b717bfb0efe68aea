"""Case data in a reader's words: factor labels from the message catalogue (pure)."""

from schemas.case import Factor
from schemas.messages import DEFAULT_LANGUAGE, render


def factor_text(factor: Factor, language: str = DEFAULT_LANGUAGE) -> str:
    """One factor as a person reads it, e.g. 未成年子女 2 人 +10; an unapplied one says it is not counted."""
    label = render(f"factor.{factor.code}", language, **factor.params)
    template = "factor.scored" if factor.applied else "factor.unapplied"
    return render(template, language, label=label, points=f"{factor.points:+g}")
