"""mediaplane thumbnailer: thumbnails for images, videos and PDFs."""
