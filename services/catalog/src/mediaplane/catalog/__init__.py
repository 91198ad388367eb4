"""mediaplane catalog: ledger of every event, rebuildable projections, query API."""
