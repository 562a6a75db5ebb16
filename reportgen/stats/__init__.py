"""Stage 2, statistics: confidence intervals, comparisons, benchmarks, trends and spines (PHE methods)."""
