"""The thumbnailer's use case (one job per verified file) and its composition root."""
