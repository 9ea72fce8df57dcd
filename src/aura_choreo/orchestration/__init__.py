"""Orchestration (SPEC §8): CRDTs, a Bloom filter, and coordinators whose message exchanges are
choreographies shipped in `protocols/` and run through the runtime like any user protocol."""
