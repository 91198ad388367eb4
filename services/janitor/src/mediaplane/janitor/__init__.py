"""mediaplane janitor: expires abandoned uploads, reconciles storage, purges deleted files."""
