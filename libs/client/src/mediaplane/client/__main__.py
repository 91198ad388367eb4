"""`python -m mediaplane.client ...`, the same as the `mediaplane` command."""

from mediaplane.client.cli import main

if __name__ == "__main__":
    main()
