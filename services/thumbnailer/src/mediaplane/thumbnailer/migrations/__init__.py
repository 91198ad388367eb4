"""SQL migrations of the thumbnailer (namespace `thumbnailer`), applied by eventlog's migrator."""
