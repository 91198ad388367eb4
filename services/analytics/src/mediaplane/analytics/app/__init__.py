"""Command and job handlers of analytics, and its composition root."""
