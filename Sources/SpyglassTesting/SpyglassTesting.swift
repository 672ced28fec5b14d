// Packet builders, flow fixtures and namespace helpers for tests.
