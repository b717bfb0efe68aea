"""Case data in a reader's words: factor labels and programme advice from the message catalogue (pure)."""

from schemas.case import Factor
from schemas.messages import DEFAULT_LANGUAGE, render
from schemas.programmes import ProgrammeAdvice, ProgrammeText


def factor_text(factor: Factor, language: str = DEFAULT_LANGUAGE) -> str:
    """One factor as a person reads it, e.g. 未成年子女 2 人 +10; an unapplied one says it is not counted."""
    label = render(f"factor.{factor.code}", language, **factor.params)
    template = "factor.scored" if factor.applied else "factor.unapplied"
    return render(template, language, label=label, points=f"{factor.points:+g}")


def programme_texts(advice: list[ProgrammeAdvice], language: str = DEFAULT_LANGUAGE) -> list[ProgrammeText]:
    """Each programme's advice as a person reads it: its name, verdict, the facts behind it and what is missing."""
    return [
        ProgrammeText(
            programme=a.programme,
            name=render(f"programme.name.{a.programme}", language),
            verdict=a.verdict,
            verdict_text=render(f"programme.verdict.{a.verdict.value}", language),
            facts=[render(f"programme.fact.{f.code}", language, **f.params) for f in a.facts],
            missing=[render(f"programme.missing.{code}", language) for code in a.missing],
        )
        for a in advice
    ]
