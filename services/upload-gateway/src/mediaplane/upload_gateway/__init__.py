"""upload-gateway: presigned, resumable, checksummed uploads; files and tags; verification."""
