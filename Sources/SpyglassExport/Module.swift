// Hubble JSON-lines flow export.
