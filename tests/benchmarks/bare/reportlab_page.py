"""The bare-library side of the worksheet's ratio (issue 13): a one-page reportlab document with
a title, a paragraph and a table, written to the file named on the command line."""

import sys

from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table

styles = getSampleStyleSheet()
SimpleDocTemplate(sys.argv[1], pagesize=letter).build([
    Paragraph("Preparation worksheet", styles["Title"]),
    Paragraph("Draw 1.80 mL of product with a 3 mL syringe.", styles["Normal"]),
    Table([["Step", "Result"], ["Volume to draw", "1.80 mL"]]),
])
