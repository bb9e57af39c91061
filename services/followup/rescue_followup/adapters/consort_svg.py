"""The CONSORT flow as an SVG diagram (pure; boxes and arrows drawn from `ConsortFlow`)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from rescue_followup.domain.consort import ArmFlow, ConsortFlow

WIDTH = 920
LINE = 17
PAD = 9
ARM_TITLES = {"SCS_CHEMO": "Secondary cytoreductive surgery + chemotherapy",
              "CHEMO": "Chemotherapy alone"}
CLASSIFICATIONS = {"highly_likely_complete_resection": "highly likely complete resection",
                   "not_highly_likely": "not highly likely",
                   "insufficient_data": "insufficient data"}


class _Canvas:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def box(self, x: float, y: float, width: float, lines: list[str]) -> float:
        """A box with one text line per entry (the first in bold); returns its height."""
        height = 2 * PAD + LINE * len(lines)
        self.parts.append(f'<rect x="{x}" y="{y}" width="{width}" height="{height}" '
                          'fill="#ffffff" stroke="#333333" stroke-width="1.2"/>')
        for i, text in enumerate(lines):
            weight = ' font-weight="bold"' if i == 0 else ""
            indent = 4 * (len(text) - len(text.lstrip(" ")))  # SVG collapses spaces
            self.parts.append(f'<text x="{x + PAD + indent}" y="{y + PAD + LINE * (i + 1) - 4}"'
                              f'{weight}>{escape(text.lstrip(" "))}</text>')
        return height

    def arrow(self, x1: float, y1: float, x2: float, y2: float) -> None:
        self.parts.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#333333" '
                          'stroke-width="1.2" marker-end="url(#arrow)"/>')

    def line(self, x1: float, y1: float, x2: float, y2: float) -> None:
        self.parts.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#333333" '
                          'stroke-width="1.2"/>')

    def label(self, x: float, y: float, text: str) -> None:
        self.parts.append(f'<text x="{x}" y="{y}" font-weight="bold" fill="#1f4e79">'
                          f'{escape(text)}</text>')


def _arm_boxes(flow: ArmFlow) -> tuple[list[str], list[str], list[str]]:
    allocation = [f"Allocated to {flow.arm} (n={flow.allocated})",
                  f"({ARM_TITLES.get(flow.arm, flow.arm)})",
                  f"Received allocated intervention (n={flow.received_allocated_intervention})",
                  "Did not receive allocated intervention "
                  f"(n={flow.did_not_receive_allocated_intervention})"]
    follow_up = [f"Lost to follow-up (n={flow.lost_to_follow_up})",
                 f"Withdrew from follow-up (n={flow.withdrawn})"]
    analysis = [f"Analysed (n={flow.analysed})",
                f"Excluded from analysis (n={flow.excluded_from_analysis})",
                f"Allocation invalidated (n={flow.invalidated})"]
    return allocation, follow_up, analysis


def render_consort_svg(flow: ConsortFlow) -> str:
    enrollment, excluded = flow.enrollment, flow.enrollment.excluded
    canvas = _Canvas()
    left, column_w, gap = 100, 390, 20
    centre_x, centre_w = left + 40, 310
    side_x, side_w = left + column_w + gap, column_w
    mid = centre_x + centre_w / 2
    canvas.label(10, 62, "Enrollment")

    y: float = 40
    top = y + canvas.box(centre_x, y, centre_w, [
        f"Assessed for eligibility (n={enrollment.assessed_for_eligibility})",
        f"Screenings (n={flow.screenings})"])
    excluded_lines = [f"Excluded (n={excluded.total})",
                      "Not meeting inclusion criteria "
                      f"(n={excluded.not_meeting_inclusion_criteria})"]
    excluded_lines += [f"    {criterion} (n={n})" for criterion, n in excluded.by_criterion.items()]
    excluded_lines.append(f"Eligible, not randomized (n={excluded.eligible_not_randomized})")
    predicted = [f"Complete-resection prediction made (n={enrollment.predicted})"]
    predicted += [f"    {CLASSIFICATIONS.get(c, c)} (n={n})"
                  for c, n in enrollment.predicted_by_classification.items()]
    awaiting = [f"Awaiting eligibility decision (n={enrollment.awaiting_eligibility_decision})"]
    side_y = top + 20
    for lines in (excluded_lines, awaiting, predicted):
        h = canvas.box(side_x, side_y, side_w, lines)
        canvas.arrow(mid, side_y + h / 2, side_x, side_y + h / 2)
        side_y += h + 16

    y = side_y + 14
    canvas.arrow(mid, top, mid, y)
    h = canvas.box(centre_x, y, centre_w, [f"Randomized (n={enrollment.randomized})"])
    split_y = y + h + 20
    canvas.line(mid, y + h, mid, split_y)
    centres = [left + column_w / 2, left + column_w + gap + column_w / 2]
    canvas.line(centres[0], split_y, centres[1], split_y)

    bottoms = [split_y, split_y]
    y = split_y + 30
    for index, phase in enumerate(("Allocation", "Follow-up", "Analysis")):
        canvas.label(10, y + 22, phase)
        heights = []
        for column, arm in enumerate(flow.allocation[:2]):
            x = left + column * (column_w + gap)
            canvas.arrow(centres[column], bottoms[column], centres[column], y)
            height = canvas.box(x, y, column_w, _arm_boxes(arm)[index])
            bottoms[column] = y + height
            heights.append(height)
        y += max(heights) + 36
    height = y
    header = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
              f'viewBox="0 0 {WIDTH} {height}" font-family="Helvetica, Arial, sans-serif" '
              'font-size="13">'
              '<title>CONSORT flow diagram</title>'
              '<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="7" refY="4" '
              'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#333333"/></marker></defs>'
              f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>')
    return header + "".join(canvas.parts) + "</svg>"
