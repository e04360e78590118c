"""ssegate conformance harness."""
