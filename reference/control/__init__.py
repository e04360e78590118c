"""The conformance control API (spec/14-control-api.md), mounted only with a control secret."""
