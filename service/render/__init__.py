"""Writers: the document model and a house style in, document bytes out.

``pdf`` lays the model out as HTML+CSS for WeasyPrint; ``docx`` writes a Word document with
styles, live numbering and embedded fonts. Neither reads the payload.
"""
