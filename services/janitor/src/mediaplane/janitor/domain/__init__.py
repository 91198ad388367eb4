"""Pure janitor rules: which objects a file owns, when a sweep may act, what it records."""
