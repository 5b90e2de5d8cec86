"""The trial: run the Agent in shadow mode on a buyer's own help center and tickets.

inputs.py parses the DESIGN.md formats, runner.py runs the shadow trial, report.py writes the
report JSON and turns reviewer marks into rates, adapters/ build inputs from public data.
"""
