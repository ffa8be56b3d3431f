"""Network: snapshot graphs weighted by propagation delay, routing and forwarding state."""
