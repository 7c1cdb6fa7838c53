"""How big each scale is: everything is proportional to the number of people, so rates stay comparable."""

from __future__ import annotations

from dataclasses import dataclass

#: National targets (DESIGN.md): ~1.4 M employers and ~5.5 M businesses for ~48 M people aged 16 and over.
EMPLOYERS_PER_PERSON = 1.4e6 / 48e6
NON_EMPLOYERS_PER_PERSON = 4.1e6 / 48e6
#: People are simulated in fixed blocks so every random draw is seeded by (seed, month, chunk) whatever the scale.
CHUNK_PEOPLE = 1 << 20


@dataclass(frozen=True)
class Scale:
    name: str
    people: int
    description: str
    #: Regions the population lives and works in (None: the whole UK by real population share). A demo
    #: population concentrated in one region has real-sized districts there, so most of its cells are published.
    regions: tuple[str, ...] | None = None

    @property
    def employers(self) -> int:
        return max(50, round(self.people * EMPLOYERS_PER_PERSON))

    @property
    def non_employers(self) -> int:
        return max(100, round(self.people * NON_EMPLOYERS_PER_PERSON))

    @property
    def chunks(self) -> list[tuple[int, int, int]]:
        """(chunk number, first person, end person) blocks."""
        return [(c, lo, min(lo + CHUNK_PEOPLE, self.people))
                for c, lo in enumerate(range(0, self.people, CHUNK_PEOPLE))]


SCALES: dict[str, Scale] = {
    s.name: s
    for s in (
        Scale("tiny", 10_000, "unit tests: seconds"),
        Scale("small", 250_000, "integration tests: the whole UK, thinly (most small cells suppressed)"),
        Scale("demo", 250_000, "the demo: the small population living in the North East only, so its districts "
              "are real-sized and most of their cells are published", regions=("North East",)),
        Scale("regional", 4_800_000, "about a tenth of the UK"),
        Scale("national", 48_000_000, "the UK: ~30 M employments a month"),
    )
}
