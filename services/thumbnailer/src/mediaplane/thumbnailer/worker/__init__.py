"""The bus consumer that feeds verified files to the thumbnailer."""
