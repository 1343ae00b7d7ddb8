"""Showing studies to people: terminal tables, plotly figures, the self-contained HTML report, exports of trials
and of the best model, and the live dashboard.
"""
