"""The Faust stream spine: records, topics, Redis keys, and the agents that move statements."""
