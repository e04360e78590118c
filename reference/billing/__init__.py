"""The billing invoice send-progress profile (spec/13-billing-profile.md): domain, storage,
use cases, the simulated sender and the HTTP routes."""
