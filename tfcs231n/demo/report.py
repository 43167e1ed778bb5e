"""What a course section hands to `tfcs231n demo`: figures, tables and numbers.

Each section module offers ``demo_section(out_dir, quick=True, seed=0) -> Section``; it
writes its PNGs under `out_dir` and returns them with captions. The demo turns the list of
sections into one self-contained HTML page and a JSON summary.
"""

import dataclasses
from pathlib import Path


@dataclasses.dataclass
class Figure:
    """A PNG written by the section, shown with a caption."""

    path: str
    caption: str = ""


@dataclasses.dataclass
class Table:
    """A small table; cells are str, int or float (floats are printed with 4 significant
    digits unless already formatted as strings). `folded`: shown closed under its title
    (HTML <details>), for long tables that a summary above already sums up."""

    title: str
    header: list
    rows: list
    folded: bool = False


@dataclasses.dataclass
class Section:
    """One section of the report.

    Args:
        name: short id such as "captioning" (used in --sections and the JSON).
        title: heading shown to a person.
        text: a paragraph saying what was run and how to read it (plain text).
        figures, tables: what to show, in order.
        metrics: the section's headline numbers, copied into the JSON summary.
    """

    name: str
    title: str
    text: str = ""
    figures: list = dataclasses.field(default_factory=list)
    tables: list = dataclasses.field(default_factory=list)
    metrics: dict = dataclasses.field(default_factory=dict)

    def figure(self, path, caption=""):
        self.figures.append(Figure(str(Path(path)), caption))
        return path

    def table(self, title, header, rows, folded=False):
        self.tables.append(Table(title, list(header), [list(r) for r in rows], folded))
