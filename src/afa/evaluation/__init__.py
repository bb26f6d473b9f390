"""One module per evaluation; each reads a trained run folder and writes a tidy result file."""
