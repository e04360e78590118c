"""HTTP plumbing shared by every route: problem bodies, access checks, request limits."""
