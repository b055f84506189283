"""Process control for the fault tests: private servers to take away, processes to kill."""
