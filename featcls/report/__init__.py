"""The report stage: a ComparisonResult as one self-contained HTML page (+ JSON, CSV).

Results are turned into plain data section by section, then rendered by one Jinja2
template per widget (autoescaped) with matplotlib figures embedded as PNG data URIs.
The report never refits a model or reads an image file.
"""

from featcls.report._context import SECTIONS
from featcls.report._render import render_report, write_outputs

__all__ = ["SECTIONS", "render_report", "write_outputs"]
