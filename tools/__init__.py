"""Developer scripts: they import the services (shared/ never does)."""
