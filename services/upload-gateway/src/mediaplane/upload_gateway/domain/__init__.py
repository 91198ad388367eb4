"""Pure domain: deciders for upload sessions, files and tags; upload policy."""
