"""Publishers: X and IPFS, each prediction published exactly once through the ledger."""
