"""Pillow, ffmpeg, PDFium, Postgres and the CPU pool: the thumbnailer's I/O and heavy lifting."""
