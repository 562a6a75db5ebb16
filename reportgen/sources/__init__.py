"""Stage 1, sources: data files in Fingertips' CSV format, the Fingertips API, derived series."""
