"""mediaplane thumbnailer: thumbnails for verified images, videos and PDFs."""
