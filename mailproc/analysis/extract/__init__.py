"""extract: the customer's identifiers from a complaint's text — name, address, phone,
e-mail, smart-card and decoder numbers, the incident date and the category
(:func:`mailproc.analysis.extract.fields.extract`).

Rule: pure functions of text (and the extract config); part of analysis.
"""
