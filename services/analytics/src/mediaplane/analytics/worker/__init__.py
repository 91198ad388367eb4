"""The consumers of analytics: file facts from MEDIA, beacon batches from BEACONS."""
