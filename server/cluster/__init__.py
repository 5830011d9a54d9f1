"""Cluster mode (`REDIS_URL`): the signed bus between nodes, shared presence and rate limits."""
