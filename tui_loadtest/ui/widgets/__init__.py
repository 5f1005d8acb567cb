"""The dashboard's panels; each reads a Snapshot and redraws only what changed."""
