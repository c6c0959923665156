"""ANSI X12 EDI: the 850 purchase order in; 997, 855, 856 and 810 out."""
