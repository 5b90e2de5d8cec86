"""Manager reports: figures aggregated in the database, SVG charts, CSV exports."""
