"""One module per revision of the TMS's tables."""
