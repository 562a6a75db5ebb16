"""What every stage shares: errors, the indicator specs, the geography, periods, number formats and safe file access."""
