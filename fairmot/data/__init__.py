"""Dataset formats and the data stages' library code: MOT files, synthetic set, download, labels, checks."""
