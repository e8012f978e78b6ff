"""What people look at: the one-page figure of a run (``run_figure``; ``figure_rows`` the rows it
reads, ``figure_process`` the helper process the command line draws it in), the figures comparing
settings on common seeds (``comparison_figure``: sweeps and scenarios); later the leaders'
decision report and the workshop dashboard.

The top layer below the entry points: may import anything beneath it.
"""
