"""The event log's own schema, as numbered SQL files applied by `mediaplane.eventlog.migrator`."""
