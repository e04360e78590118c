"""Reports of a conformance run: the versioned JSON document and the console rendering of it."""
