"""Word documents a township can edit: the printouts' default templates (``templates/*.docx``, built by
``defaults.py`` from the layout in ``layout.py``) and the one renderer (``render.py``) that fills a template,
the township's own one from the data folder first."""
