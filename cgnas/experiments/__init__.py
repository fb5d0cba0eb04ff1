"""The experiments of DESIGN.md section 4, as functions the CLI runs."""
