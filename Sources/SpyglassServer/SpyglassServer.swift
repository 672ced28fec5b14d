// HTTP serving of /metrics.
