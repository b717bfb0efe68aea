"""Development tools: the embedded launcher, the broker proxy, the traffic generator, simulate and bench."""
