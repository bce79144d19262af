"""What the tests of every subsystem share, built on the project's own pieces: the demo world,
`steadypos` child processes (host.process), and the host in-process (host.embedded)."""
