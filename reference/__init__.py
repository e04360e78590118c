"""ssegate reference server and client."""
