"""Sphinx configuration of derive's documentation: MyST Markdown pages, the tutorial notebook executed on every
build (a cell that raises fails the build), and the API reference from the docstrings."""
project = "derive"
author = "derive"
extensions = ["myst_nb", "sphinx.ext.autodoc"]
exclude_patterns = ["_build", "jupyter_execute"]
nb_execution_mode = "force"          # run the notebook on every build; nothing is taken from a saved output
nb_execution_raise_on_error = True   # a cell that raises is a failed build
nb_execution_timeout = 900
nb_merge_streams = True
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3
autodoc_member_order = "bysource"
html_theme = "alabaster"
html_title = "derive"
