"""Manager reports (issue 11): figures aggregated in the database, SVG charts, CSV exports."""
