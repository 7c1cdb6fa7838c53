"""The scale curve's table and plot: every scale a row, a pipeline that did not finish said, not drawn."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from trust_assets.bench.curve import Point, curve_section, plot

GIB = 1 << 30
POINTS = [Point("tiny", 10_000, 30.0, 1 * GIB, 2.0, GIB // 2),
          Point("regional", 4_800_000, 60.0, 3 * GIB, 20.0, 2 * GIB),
          Point("national", 48_000_000, None, None, 41.7, 7 * GIB, "stopped over the memory limit")]
INFO = {"date": "d", "cpu": "c", "memory": "m", "python": "p", "packages": "x"}


def test_section_has_a_row_per_scale_with_the_ratio_and_the_failure():
    text = curve_section(POINTS, INFO, ["pipeline (tiny) 1 -> 2"], months=3, seed=42)
    assert "| tiny | 10,000 | 30.0 s | 1.0 GiB | 2.0 s | 0.5 GiB | 15.00x |" in text
    assert "| regional | 4,800,000 | 60.0 s | 3.0 GiB | 20.0 s | 2.0 GiB | 3.00x |" in text
    assert "| national | 48,000,000 | - (stopped over the memory limit) | - | 41.7 s | 7.0 GiB | - |" in text
    assert "![wall time and peak memory against population](img/scale-curve.svg)" in text
    assert "`trust bench --curve tiny,regional,national`" in text


def test_plot_is_one_svg_with_both_panels_and_only_measured_points():
    svg = plot(POINTS)
    root = ET.fromstring(svg)  # well-formed XML: a browser and GitHub can show it
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert "Wall time of one month (s)" in titles and "Peak memory of the process tree (GiB)" in titles
    circles = list(root.iter("{http://www.w3.org/2000/svg}circle"))
    # two panels x (3 floor points + 2 pipeline points): the national pipeline is not drawn as 0
    assert len(circles) == 2 * (3 + 2)
