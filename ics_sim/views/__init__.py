"""What people look at: the one-page figure of a run (``run_figure``), the figures comparing
settings on common seeds (``comparison_figure``: sweeps and scenarios); later the leaders'
decision report and the workshop dashboard.

The top layer below the entry points: may import anything beneath it.
"""
