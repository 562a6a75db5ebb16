"""Stage 4, publish: one path from an area to its files, written safely; the national run and its edition folder."""
