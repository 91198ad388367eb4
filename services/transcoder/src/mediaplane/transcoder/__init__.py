"""mediaplane transcoder: HLS adaptive-bitrate ladders with FFmpeg."""
